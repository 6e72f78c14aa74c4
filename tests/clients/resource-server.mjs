// A resource server (a small HTTP API, "orders") that accepts only access tokens meant for it,
// checked two ways: locally by the JWT access-token profile's rules (RFC 9068 §4: `typ` at+jwt,
// signature against the JWKS, `iss`, `aud` its own identifier, `exp`, then its scope) with
// jose, and by asking Gatehouse (RFC 7662 introspection with the API's own S2S credentials).
// openid-client plays the app: it asks for the API with a resource indicator (RFC 8707) on the
// authorization and token requests, the sign-in runs in headless Chromium, then it calls the
// API with that token, with a token for Gatehouse itself, with a forged one, after revoking it,
// and after a refresh.
// Then the API calls a downstream API for the user: it exchanges the user's token for one to
// that API (RFC 8693, openid-client's `genericGrantRequest`), which names it in `act`.
// The app's ID tokens are ES256 and the API's tokens EdDSA, as each asked.
// Env: ISSUER, CLIENT_ID (a SPA app with ES256 ID tokens), REDIRECT_URI, EMAIL, PASSWORD, RESOURCE (the API's
// identifier, registered with the scope orders:read and EdDSA tokens), RS_CLIENT_ID, RS_CLIENT_SECRET (the S2S
// app the API introspects and exchanges with), DOWNSTREAM (an API that lets it exchange).
import { createServer } from 'node:http';
import * as client from 'openid-client';
import * as jose from 'jose';
import { assert, completeSignIn, launch, need, serveApp } from './lib/browser.mjs';

const issuer = need('ISSUER');
const resource = need('RESOURCE');
const redirectUri = need('REDIRECT_URI');
const user = { email: need('EMAIL'), password: need('PASSWORD'), signUp: true };
const insecure = { execute: [client.allowInsecureRequests] };

// The API: its own view of the server (discovery, JWKS) and its own credentials.
const apiConfig = await client.discovery(new URL(issuer), need('RS_CLIENT_ID'), need('RS_CLIENT_SECRET'), undefined, insecure);
const jwks = jose.createRemoteJWKSet(new URL(apiConfig.serverMetadata().jwks_uri));

async function locallyValid(token) {
  const { payload } = await jose.jwtVerify(token, jwks, { issuer, audience: resource, typ: 'at+jwt' });
  if (!payload.client_id || !payload.sub || !payload.jti) throw new Error('missing RFC 9068 claims');
  return payload;
}

async function introspected(token) {
  const answer = await client.tokenIntrospection(apiConfig, token);
  const audiences = [answer.aud].flat();
  if (!answer.active || !audiences.includes(resource)) throw new Error(`not for this API: ${JSON.stringify(answer)}`);
  return answer;
}

const api = createServer(async (req, res) => {
  const token = (req.headers.authorization || '').replace(/^Bearer /, '');
  const check = req.url === '/orders/introspected' ? introspected : locallyValid;
  try {
    const claims = await check(token);
    if (!String(claims.scope || '').split(' ').includes('orders:read')) throw new Error('scope');
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ orders: [], for: claims.sub }));
  } catch (error) {
    res.writeHead(401, { 'www-authenticate': `Bearer error="invalid_token"`, 'content-type': 'text/plain' });
    res.end(String(error.message || error));
  }
});
await new Promise((resolve) => api.listen(0, '127.0.0.1', resolve));
const apiUrl = `http://127.0.0.1:${api.address().port}`;
async function call(path, token) {
  const response = await fetch(`${apiUrl}${path}`, { headers: { authorization: `Bearer ${token}` } });
  return response.status;
}

// The app: a public client asking for the API.
const config = await client.discovery(new URL(issuer), need('CLIENT_ID'), { id_token_signed_response_alg: 'ES256' }, client.None(), insecure);
async function signIn(page, extra) {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: 'openid offline_access orders:read',
    state,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    ...extra,
  });
  const { url: callback } = await completeSignIn(page, url.href, { redirectUri, user });
  return client.authorizationCodeGrant(config, new URL(callback), { pkceCodeVerifier: verifier, expectedState: state }, extra);
}

const stopApp = await serveApp(new URL(redirectUri).origin);
const browser = await launch();
try {
  const page = await (await browser.newContext()).newPage();
  const tokens = await signIn(page, { resource });
  const claims = jose.decodeJwt(tokens.access_token);
  assert(claims.aud === resource, `the token's audience: ${JSON.stringify(claims)}`);
  assert(jose.decodeProtectedHeader(tokens.access_token).alg === 'EdDSA', 'the API asked for EdDSA');
  assert(jose.decodeProtectedHeader(tokens.id_token).alg === 'ES256', 'the app asked for ES256');
  await jose.jwtVerify(tokens.id_token, jwks, { issuer, audience: need('CLIENT_ID') });
  assert((await call('/orders', tokens.access_token)) === 200, 'the API accepts its token (local checks)');
  assert((await call('/orders/introspected', tokens.access_token)) === 200, 'the API accepts its token (introspection)');

  // The API acts for the user downstream (delegation, RFC 8693).
  const downstream = need('DOWNSTREAM');
  const exchanged = await client.genericGrantRequest(apiConfig, 'urn:ietf:params:oauth:grant-type:token-exchange', {
    subject_token: tokens.access_token,
    subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
    audience: downstream,
  });
  assert(exchanged.issued_token_type === 'urn:ietf:params:oauth:token-type:access_token', `exchange answer: ${JSON.stringify(exchanged)}`);
  const { payload: delegated, protectedHeader } = await jose.jwtVerify(exchanged.access_token, jwks, { issuer, audience: downstream, typ: 'at+jwt' });
  assert(protectedHeader.typ === 'at+jwt' && delegated.sub === claims.sub && delegated.act?.sub === need('RS_CLIENT_ID'), `delegated token: ${JSON.stringify(delegated)}`);
  assert((await call('/orders', exchanged.access_token)) === 401, 'the API refuses a token meant for the downstream API');
  let refusedExchange = false;
  try {
    await client.genericGrantRequest(config, 'urn:ietf:params:oauth:grant-type:token-exchange', {
      subject_token: tokens.access_token,
      subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      audience: downstream,
    });
  } catch (error) {
    refusedExchange = error.error === 'unauthorized_client';
  }
  assert(refusedExchange, 'a public app cannot exchange tokens');

  // A token for Gatehouse itself (no resource; the browser is still signed in).
  user.signUp = false;
  const own = await signIn(page, {});
  assert(jose.decodeJwt(own.access_token).aud === issuer, 'a token for the server');
  assert((await call('/orders', own.access_token)) === 401, 'the API refuses a token for another audience (local)');
  assert((await call('/orders/introspected', own.access_token)) === 401, 'the API refuses a token for another audience (introspection)');

  // A forged one: the API's scope added to a real token's payload.
  const [head, body, signature] = own.access_token.split('.');
  const forgedBody = { ...JSON.parse(Buffer.from(body, 'base64url')), aud: resource };
  const forged = [head, Buffer.from(JSON.stringify(forgedBody)).toString('base64url'), signature].join('.');
  assert((await call('/orders', forged)) === 401, 'the API refuses a forged token');
  assert((await call('/orders/introspected', forged)) === 401, 'introspection refuses a forged token');

  // A refresh stays with the API.
  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token, { resource });
  assert((await call('/orders', refreshed.access_token)) === 200, 'the refreshed token is for the API');

  // Revoked: a self-contained JWT still passes local checks until it expires; introspection sees it.
  await client.tokenRevocation(config, refreshed.access_token);
  assert((await call('/orders', refreshed.access_token)) === 200, 'local checks cannot see a revocation');
  assert((await call('/orders/introspected', refreshed.access_token)) === 401, 'introspection sees the revocation');
} finally {
  await browser.close();
  await stopApp();
  api.close();
}
console.log('resource server: ok');
