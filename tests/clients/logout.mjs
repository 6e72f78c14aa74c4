// OIDC Back-Channel and Front-Channel Logout 1.0, driven by openid-client with the user in
// headless Chromium: a web app registers both channels (through the S2S API), signs a user in,
// then sends the browser to the end-session endpoint (buildEndSessionUrl). The signed-out page
// loads the app's front-channel page with iss and sid before going on to the post-logout URI,
// and the app's back-channel endpoint receives a logout token that jose verifies against the
// server's JWKS (issuer, audience, typ logout+jwt, the app's ID-token algorithm, the logout event,
// the session's sid, no nonce). A second session ended by an admin through the S2S API is told
// the same way. A forged logout token (another key) fails jose's check.
// Env: ISSUER, ADMIN_TOKEN (root), APP_ID, CLIENT_ID, CLIENT_SECRET (a web app), REDIRECT_URI,
// EMAIL, PASSWORD.
import { createServer } from 'node:http';
import * as client from 'openid-client';
import * as jose from 'jose';
import { assert, codeFlow, completeSignIn, json, launch, need, serveApp } from './lib/browser.mjs';

const issuer = need('ISSUER');
const clientId = need('CLIENT_ID');
const redirectUri = need('REDIRECT_URI');
const appOrigin = new URL(redirectUri).origin;
const EVENT = 'http://schemas.openid.net/event/backchannel-logout';

async function admin(method, path, body) {
  const response = await fetch(`${issuer}${path}`, {
    method,
    headers: { authorization: `Bearer ${need('ADMIN_TOKEN')}`, 'content-type': 'application/json' },
    body: body && JSON.stringify(body),
  });
  const answer = response.status === 204 ? {} : await json(response);
  assert(response.ok, `${method} ${path}: ${response.status} ${JSON.stringify(answer)}`);
  return answer;
}

// The app's back channel: a server of its own that keeps each logout token it is sent.
const received = [];
const backChannel = createServer((req, res) => {
  let body = '';
  req.on('data', (chunk) => { body += chunk; });
  req.on('end', () => {
    const type = req.headers['content-type'] || '';
    const token = new URLSearchParams(body).get('logout_token');
    if (req.method !== 'POST' || !type.startsWith('application/x-www-form-urlencoded') || !token) {
      res.writeHead(400).end();
      return;
    }
    received.push(token);
    res.writeHead(200, { 'cache-control': 'no-store' }).end();
  });
});
await new Promise((resolve) => backChannel.listen(0, '127.0.0.1', resolve));
const backChannelUri = `http://127.0.0.1:${backChannel.address().port}/backchannel`;

await admin('PUT', `/api/v1/apps/${need('APP_ID')}`, {
  backchannelLogoutUri: backChannelUri,
  backchannelLogoutSessionRequired: true,
  frontchannelLogoutUri: `${appOrigin}/frontchannel`,
  frontchannelLogoutSessionRequired: true,
  idTokenSignedResponseAlg: 'ES256',
});

const config = await client.discovery(new URL(issuer), clientId, need('CLIENT_SECRET'), undefined, {
  execute: [client.allowInsecureRequests],
});
const meta = config.serverMetadata();
for (const flag of ['backchannel_logout_supported', 'backchannel_logout_session_supported', 'frontchannel_logout_supported', 'frontchannel_logout_session_supported']) {
  assert(meta[flag] === true, `discovery: ${flag} is ${meta[flag]}`);
}
assert(meta.claims_supported.includes('sid'), 'discovery lists sid');
const serverKeys = jose.createRemoteJWKSet(new URL(meta.jwks_uri));

/** Waits for the next logout token and checks it as a relying party must (§2.6). */
async function nextLogoutToken(expected) {
  for (let i = 0; i < 150 && received.length < expected.count; i += 1) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert(received.length >= expected.count, `no logout token arrived (${received.length} so far)`);
  const token = received[expected.count - 1];
  const { payload, protectedHeader } = await jose.jwtVerify(token, serverKeys, {
    issuer, audience: clientId, typ: 'logout+jwt', algorithms: ['ES256'], maxTokenAge: '2m',
  });
  assert(protectedHeader.alg === 'ES256', `logout token algorithm ${protectedHeader.alg}`);
  assert(payload.sub === expected.sub, `logout token sub ${payload.sub}`);
  assert(payload.sid === expected.sid, `logout token sid ${payload.sid}, expected ${expected.sid}`);
  assert(JSON.stringify(payload.events) === JSON.stringify({ [EVENT]: {} }), `events ${JSON.stringify(payload.events)}`);
  assert(!('nonce' in payload), 'a logout token must not carry a nonce');
  assert(typeof payload.jti === 'string' && payload.jti.length >= 16, 'a logout token has a jti');
  assert(payload.exp - payload.iat <= 300, `logout token lives ${payload.exp - payload.iat} s`);
  return { token, payload };
}

/** Signs in through Gatehouse's pages in `page`; the ID token's claims and the tokens. */
async function signIn(page, user) {
  const { verifier, state, nonce, params } = await codeFlow(client, redirectUri, 'openid profile');
  const url = client.buildAuthorizationUrl(config, params);
  const { url: callback } = await completeSignIn(page, url.href, { redirectUri, user });
  const tokens = await client.authorizationCodeGrant(config, new URL(callback), {
    pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce,
  });
  const claims = tokens.claims();
  assert(typeof claims.sid === 'string' && claims.sid.length > 0, `ID token without sid: ${JSON.stringify(claims)}`);
  return { tokens, claims };
}

const frontChannelHits = [];
const stopApp = await serveApp(appOrigin, (url) => {
  if (new URL(url).pathname === '/frontchannel') frontChannelHits.push(new URL(url));
  return null;
});
const browser = await launch();
try {
  const page = await (await browser.newContext()).newPage();
  const user = { email: need('EMAIL'), password: need('PASSWORD'), signUp: true };
  const first = await signIn(page, user);

  // Logout through the end-session endpoint: front channel first, then the post-logout URI.
  const endSession = client.buildEndSessionUrl(config, {
    id_token_hint: first.tokens.id_token, post_logout_redirect_uri: redirectUri, state: 'bye',
  });
  await page.goto(endSession.href);
  await page.waitForURL((u) => u.href.startsWith(redirectUri), { timeout: 15_000 });
  assert(new URL(page.url()).searchParams.get('state') === 'bye', `post-logout redirect ${page.url()}`);
  assert(frontChannelHits.length === 1, `front channel called ${frontChannelHits.length} times`);
  const hit = frontChannelHits[0].searchParams;
  assert(hit.get('iss') === issuer && hit.get('sid') === first.claims.sid, `front channel got ${frontChannelHits[0]}`);
  const logout = await nextLogoutToken({ count: 1, sub: first.claims.sub, sid: first.claims.sid });

  // The session is over: signing in again shows the sign-in page and makes a new session.
  const second = await signIn(page, { ...user, signUp: false });
  assert(second.claims.sid !== first.claims.sid, 'a new sign-in has a new sid');

  // An admin ends that browser session through the S2S API: the app hears of it too.
  const sessions = await admin('GET', `/api/v1/users/${second.claims.sub}/active-sessions`);
  assert(sessions.browserSessions.length === 1, `browser sessions: ${JSON.stringify(sessions.browserSessions)}`);
  await admin('DELETE', `/api/v1/users/${second.claims.sub}/active-sessions/${sessions.browserSessions[0].sessionId}`);
  await nextLogoutToken({ count: 2, sub: second.claims.sub, sid: second.claims.sid });
  assert(received.length === 2, `the app heard ${received.length} times`);

  // A logout token signed with any other key is refused by the relying party's check.
  const forger = await jose.generateKeyPair('ES256');
  const forged = await new jose.SignJWT(logout.payload)
    .setProtectedHeader({ alg: 'ES256', typ: 'logout+jwt', kid: jose.decodeProtectedHeader(logout.token).kid })
    .sign(forger.privateKey);
  const refused = await jose.jwtVerify(forged, serverKeys, { issuer, audience: clientId, typ: 'logout+jwt' }).then(() => false, () => true);
  assert(refused, 'a forged logout token passed');
} finally {
  await browser.close();
  await stopApp();
  backChannel.close();
}
console.log('logout: ok');
