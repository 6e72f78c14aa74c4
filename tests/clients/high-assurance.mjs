// High-assurance clients, driven by openid-client: a web app held to the FAPI 2.0 Security
// Profile, so it authenticates with private_key_jwt (RFC 7523, its keys at a jwks_uri this script
// serves), must push its authorization requests (PAR, RFC 9126) with PKCE, and binds its tokens to
// a DPoP key (RFC 9449, with the server's nonce round); the sign-in runs in headless Chromium and
// the DPoP-bound token is used at userinfo. Then an S2S app with its keys
// registered by value gets a DPoP-bound token by client credentials and calls /info and the S2S
// API with it. Each protection is also attacked by hand (jose builds the forged proofs and
// assertions): a replayed proof, a proof for another URL or method, a bound token sent as Bearer
// or with another key, a reused request_uri, a pushed request tampered with at authorize, a
// request not pushed, an assertion replayed or aimed at another audience, an RS256 DPoP proof
// from the FAPI app. An S2S app made with client_secret_jwt gets a token with HMAC assertions.
// Env: ISSUER, ADMIN_TOKEN (root), APP_ID and CLIENT_ID (a web app), REDIRECT_URI, EMAIL,
// PASSWORD, S2S_APP_ID and S2S_CLIENT_ID (an S2S app holding root).
import { createServer } from 'node:http';
import * as client from 'openid-client';
import * as jose from 'jose';
import { assert, codeFlow, json, need, signInOnce } from './lib/browser.mjs';

const issuer = need('ISSUER');
const clientId = need('CLIENT_ID');
const redirectUri = need('REDIRECT_URI');
const user = { email: need('EMAIL'), password: need('PASSWORD'), signUp: true };
const insecure = { execute: [client.allowInsecureRequests] };

async function admin(method, path, body) {
  const response = await fetch(`${issuer}${path}`, {
    method,
    headers: { authorization: `Bearer ${need('ADMIN_TOKEN')}`, 'content-type': 'application/json' },
    body: body && JSON.stringify(body),
  });
  const answer = await json(response);
  assert(response.ok, `${method} ${path}: ${response.status} ${JSON.stringify(answer)}`);
  return answer;
}

// The web app's keys, published at a jwks_uri the server fetches.
const appKeys = await jose.generateKeyPair('ES256', { extractable: true });
const appJwk = { ...(await jose.exportJWK(appKeys.publicKey)), kid: 'app-1', alg: 'ES256', use: 'sig' };
let jwksServed = 0;
const jwksServer = createServer((req, res) => {
  jwksServed += 1;
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ keys: [appJwk] }));
});
await new Promise((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
const jwksUri = `http://127.0.0.1:${jwksServer.address().port}/jwks.json`;
await admin('PUT', `/api/v1/apps/${need('APP_ID')}`, {
  tokenEndpointAuthMethod: 'private_key_jwt', jwksUri, fapi2SecurityProfile: true, idTokenSignedResponseAlg: 'ES256',
});

const config = await client.discovery(new URL(issuer), clientId, {}, client.PrivateKeyJwt({ key: appKeys.privateKey, kid: 'app-1' }), insecure);
const meta = config.serverMetadata();
assert(meta.pushed_authorization_request_endpoint === `${issuer}/oauth2/v1/par`, 'PAR endpoint in discovery');
assert(meta.token_endpoint_auth_methods_supported.includes('private_key_jwt'), 'private_key_jwt in discovery');
assert(meta.dpop_signing_alg_values_supported.includes('ES256'), 'DPoP algorithms in discovery');

// A request that is not pushed is refused: FAPI 2.0 requires PAR.
const direct = client.buildAuthorizationUrl(config, {
  redirect_uri: redirectUri, scope: 'openid', code_challenge: 'x'.repeat(43), code_challenge_method: 'S256',
});
const directAnswer = await fetch(direct, { redirect: 'manual' });
const refusedAt = directAnswer.headers.get('location') || '';
assert(refusedAt.startsWith(redirectUri) && refusedAt.includes('error=invalid_request'), `unpushed request: ${directAnswer.status} ${refusedAt}`);

// The DPoP key is proven at the push already, so the code is bound to it (RFC 9449 §10.1).
const dpopKeys = await client.randomDPoPKeyPair('ES256');
const dpop = client.getDPoPHandle(config, dpopKeys);
const { verifier, state, nonce, params: pushedParams } = await codeFlow(client, redirectUri);
const url = await client.buildAuthorizationUrlWithPAR(config, pushedParams, { DPoP: dpop });
assert(url.searchParams.get('request_uri')?.startsWith('urn:ietf:params:oauth:request_uri:'), `PAR url: ${url}`);
assert(!url.searchParams.has('scope'), 'the front channel carries only client_id and request_uri');

// A pushed request tampered with at authorize is refused, and so is a reused request_uri.
const other = await client.buildAuthorizationUrlWithPAR(config, pushedParams);
const tampered = new URL(other);
tampered.searchParams.set('redirect_uri', 'https://attacker.example/cb');
const tamperedAnswer = await fetch(tampered, { redirect: 'manual' });
assert(tamperedAnswer.status === 400 && (await tamperedAnswer.text()).includes('redirect_uri'), `tampered PAR: ${tamperedAnswer.status}`);
const reusedAnswer = await fetch(other, { redirect: 'manual' });
assert(reusedAnswer.status === 400, `a request_uri whose first use was refused still worked: ${reusedAnswer.status}`);

const callback = await signInOnce(url.href, { redirectUri, user });
const replayedUri = await fetch(url, { redirect: 'manual' });
assert(replayedUri.status === 400, `a used request_uri worked again: ${replayedUri.status}`);

// FAPI 2.0 signs with PS256, ES256 or EdDSA only: an RS256 proof is refused before the code is
// touched, so the real exchange below still works.
const rsaDpop = client.getDPoPHandle(config, await client.randomDPoPKeyPair('RS256'));
const rsaRefusal = await client.authorizationCodeGrant(config, new URL(callback), {
  pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true,
}, undefined, { DPoP: rsaDpop }).then(() => null, (error) => error);
assert(rsaRefusal?.error === 'invalid_dpop_proof' && rsaRefusal.error_description.includes('FAPI'), `an RS256 DPoP proof for a FAPI app: ${rsaRefusal}`);

// DPoP: openid-client meets the server's nonce (use_dpop_nonce, then a retry with it).
const tokens = await client.authorizationCodeGrant(config, new URL(callback), {
  pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true,
}, undefined, { DPoP: dpop });
assert(tokens.token_type.toLowerCase() === 'dpop', `token_type ${tokens.token_type}`);
const thumbprint = await jose.calculateJwkThumbprint(await jose.exportJWK(dpopKeys.publicKey));
const accessClaims = jose.decodeJwt(tokens.access_token);
assert(accessClaims.cnf?.jkt === thumbprint, `cnf.jkt ${JSON.stringify(accessClaims.cnf)} is not ${thumbprint}`);
assert(jwksServed >= 1, 'the server read the app keys from its jwks_uri');
const sub = tokens.claims().sub;
const info = await client.fetchUserInfo(config, tokens.access_token, sub, { DPoP: dpop });
assert(info.sub === sub && info.email === user.email, `userinfo with DPoP: ${JSON.stringify(info)}`);

// A push whose proof is made with one key while its dpop_jkt names another is refused; a code
// bound at the push to one key cannot be exchanged with another.
const otherKeys = await client.randomDPoPKeyPair('ES256');
const otherDpop = client.getDPoPHandle(config, otherKeys);
const otherThumbprint = await jose.calculateJwkThumbprint(await jose.exportJWK(otherKeys.publicKey));
const mismatched = await client.buildAuthorizationUrlWithPAR(config, { ...pushedParams, dpop_jkt: otherThumbprint }, { DPoP: dpop })
  .then(() => null, (error) => error);
assert(mismatched?.error === 'invalid_dpop_proof', `a push naming another key than its proof: ${mismatched}`);
const boundFlow = await codeFlow(client, redirectUri);
const boundUrl = await client.buildAuthorizationUrlWithPAR(config, boundFlow.params, { DPoP: otherDpop });
const boundCallback = await signInOnce(boundUrl.href, { redirectUri, user: { email: user.email, password: user.password } });
const stolen = await client.authorizationCodeGrant(config, new URL(boundCallback), {
  pkceCodeVerifier: boundFlow.verifier, expectedState: boundFlow.state, expectedNonce: boundFlow.nonce, idTokenExpected: true,
}, undefined, { DPoP: dpop }).then(() => null, (error) => error);
assert(stolen?.error === 'invalid_grant' && stolen.error_description.includes('dpop_jkt'), `a bound code with another key: ${stolen}`);

// Proofs made by hand, to attack the checks one at a time.
const userinfo = `${issuer}/oauth2/v1/userinfo`;
let serverNonce;
async function proof(keys, { htm = 'GET', htu = userinfo, token = tokens.access_token, nonce = serverNonce } = {}) {
  const jwk = await jose.exportJWK(keys.publicKey);
  const ath = token && Buffer.from(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(token))).toString('base64url');
  return new jose.SignJWT({ htm, htu, ath, nonce, jti: crypto.randomUUID() })
    .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk })
    .setIssuedAt()
    .sign(keys.privateKey);
}
async function callUserinfo(authorization, dpopProof) {
  const headers = { authorization };
  if (dpopProof) headers.dpop = dpopProof;
  const response = await fetch(userinfo, { headers });
  serverNonce = response.headers.get('dpop-nonce') || serverNonce;
  return { status: response.status, challenge: response.headers.get('www-authenticate') || '' };
}
// Without a nonce, the resource asks for one.
const first = await callUserinfo(`DPoP ${tokens.access_token}`, await proof(dpopKeys, { nonce: undefined }));
assert(first.status === 401 && first.challenge.includes('use_dpop_nonce') && serverNonce, `no nonce: ${JSON.stringify(first)}`);
const good = await proof(dpopKeys);
assert((await callUserinfo(`DPoP ${tokens.access_token}`, good)).status === 200, 'a proof with the nonce');
const cases = [
  ['a replayed proof', `DPoP ${tokens.access_token}`, good],
  ['the bound token as Bearer', `Bearer ${tokens.access_token}`, undefined],
  ['the bound token without a proof', `DPoP ${tokens.access_token}`, undefined],
  ['a proof made with another key', `DPoP ${tokens.access_token}`, await proof(await client.randomDPoPKeyPair('ES256'))],
  ['a proof for another URL', `DPoP ${tokens.access_token}`, await proof(dpopKeys, { htu: `${issuer}/info` })],
  ['a proof for another method', `DPoP ${tokens.access_token}`, await proof(dpopKeys, { htm: 'POST' })],
  ['a proof for another token', `DPoP ${tokens.access_token}`, await proof(dpopKeys, { token: 'another-token' })],
];
for (const [name, authorization, dpopProof] of cases) {
  const answer = await callUserinfo(authorization, dpopProof);
  assert(answer.status === 401 && answer.challenge.startsWith('DPoP'), `${name} was accepted: ${JSON.stringify(answer)}`);
}

// The refresh grant, with the same key: a new bound access token.
const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token, undefined, { DPoP: dpop });
assert(jose.decodeJwt(refreshed.access_token).cnf?.jkt === thumbprint, 'the refreshed token is bound');
assert(!refreshed.refresh_token, 'FAPI 2.0: refresh tokens are sender-constrained, not rotated');
// FAPI 2.0: a token request without a DPoP proof is refused.
const unbound = await fetch(`${issuer}/oauth2/v1/token`, {
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams({
    grant_type: 'refresh_token', refresh_token: tokens.refresh_token,
    client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    client_assertion: await new jose.SignJWT({ jti: crypto.randomUUID() })
      .setProtectedHeader({ alg: 'ES256', kid: 'app-1' })
      .setIssuer(clientId).setSubject(clientId).setAudience(issuer)
      .setIssuedAt().setExpirationTime('60s')
      .sign(appKeys.privateKey),
  }),
});
const unboundAnswer = await json(unbound);
assert(unbound.status === 400 && unboundAnswer.error === 'invalid_dpop_proof', `a FAPI token request without DPoP: ${JSON.stringify(unboundAnswer)}`);

// private_key_jwt attacked: an assertion replayed, or aimed at another audience.
async function assertion(aud) {
  return new jose.SignJWT({ jti: crypto.randomUUID() })
    .setProtectedHeader({ alg: 'ES256', kid: 'app-1' })
    .setIssuer(clientId).setSubject(clientId).setAudience(aud)
    .setIssuedAt().setExpirationTime('60s')
    .sign(appKeys.privateKey);
}
async function introspect(clientAssertion) {
  const response = await fetch(`${issuer}/oauth2/v1/introspect`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      token: refreshed.access_token,
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: clientAssertion,
    }),
  });
  return { status: response.status, body: await json(response) };
}
const once = await assertion(issuer);
const introspected = await introspect(once);
assert(introspected.status === 200 && introspected.body.active && introspected.body.cnf?.jkt === thumbprint, `introspection: ${JSON.stringify(introspected)}`);
const replayed = await introspect(once);
assert(replayed.status === 401 && replayed.body.error === 'invalid_client', `a replayed assertion: ${JSON.stringify(replayed)}`);
const elsewhere = await introspect(await assertion('https://other-server.example'));
assert(elsewhere.status === 401 && elsewhere.body.error === 'invalid_client', `an assertion for another audience: ${JSON.stringify(elsewhere)}`);
const secretTried = await fetch(`${issuer}/oauth2/v1/token`, {
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${clientId}:guess`).toString('base64')}` },
  body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token }),
});
assert(secretTried.status === 401, `a private_key_jwt app was let in with a secret: ${secretTried.status}`);

// Signed request objects (JAR, RFC 9101) by value: the app is no longer held to FAPI but its
// request objects must be ES256. A second sign-in, with the account made above.
await admin('PUT', `/api/v1/apps/${need('APP_ID')}`, {
  fapi2SecurityProfile: false, requestObjectSigningAlg: 'ES256',
});
const jarVerifier = client.randomPKCECodeVerifier();
const jarState = client.randomState();
const jarParams = {
  redirect_uri: redirectUri,
  scope: 'openid profile',
  state: jarState,
  code_challenge: await client.calculatePKCECodeChallenge(jarVerifier),
  code_challenge_method: 'S256',
};
const signing = { key: appKeys.privateKey, kid: 'app-1' };
const jarUrl = await client.buildAuthorizationUrlWithJAR(config, jarParams, signing);
assert(jarUrl.searchParams.get('request') && !jarUrl.searchParams.has('redirect_uri'), `JAR url: ${jarUrl}`);
// Forged or tampered request objects are refused before anything is redirected.
const strangerKeys = await jose.generateKeyPair('ES256', { extractable: true });
const forgedJar = await client.buildAuthorizationUrlWithJAR(config, jarParams, { key: strangerKeys.privateKey, kid: 'app-1' });
const jarTampered = new URL(jarUrl);
jarTampered.searchParams.set('scope', 'openid root');
const edKeys = await jose.generateKeyPair('EdDSA', { extractable: true });
const wrongAlg = await client.buildAuthorizationUrlWithJAR(config, jarParams, { key: edKeys.privateKey, kid: 'app-1' });
for (const [name, attempt, words] of [
  ['signed by another key', forgedJar, 'not signed by a key'],
  ['with a changed query parameter', jarTampered, 'scope parameter differs'],
  ['in another algorithm than registered', wrongAlg, 'must be signed with ES256'],
]) {
  const answer = await fetch(attempt, { redirect: 'manual' });
  const text = await answer.text();
  assert(answer.status === 400 && text.includes(words), `a request object ${name}: ${answer.status} ${text.slice(0, 200)}`);
}
// A request object inside a pushed request (RFC 9126 §3) is taken too.
const pushedJar = await client.buildAuthorizationUrlWithPAR(config, { request: jarUrl.searchParams.get('request') });
const pushedAnswer = await fetch(pushedJar, { redirect: 'manual' });
assert(pushedAnswer.status === 303 && !(pushedAnswer.headers.get('location') || '').includes('error='), `pushed JAR: ${pushedAnswer.status} ${pushedAnswer.headers.get('location')}`);
const signedIn = { email: user.email, password: user.password };
const jarCallback = await signInOnce(jarUrl.href, { redirectUri, user: signedIn });
const jarTokens = await client.authorizationCodeGrant(config, new URL(jarCallback), {
  pkceCodeVerifier: jarVerifier, expectedState: jarState, idTokenExpected: true,
}, undefined, { DPoP: dpop });
assert(jarTokens.claims().sub === sub, 'the JAR sign-in is the same user');
jwksServer.close();

// An S2S app with its key registered by value: client credentials with private_key_jwt, the
// token bound to a DPoP key, then /info and the S2S API with it.
const s2sKeys = await jose.generateKeyPair('EdDSA', { extractable: true });
const s2sJwk = { ...(await jose.exportJWK(s2sKeys.publicKey)), kid: 's2s-1' };
await admin('PUT', `/api/v1/apps/${need('S2S_APP_ID')}`, {
  tokenEndpointAuthMethod: 'private_key_jwt', jwks: { keys: [s2sJwk] },
});
const s2s = new client.Configuration(meta, need('S2S_CLIENT_ID'), {}, client.PrivateKeyJwt({ key: s2sKeys.privateKey, kid: 's2s-1' }));
client.allowInsecureRequests(s2s);
const s2sDpop = client.getDPoPHandle(s2s, await client.randomDPoPKeyPair('ES256'));
let s2sTokens;
try {
  s2sTokens = await client.clientCredentialsGrant(s2s, { scope: 'root' }, { DPoP: s2sDpop });
} catch (error) {
  throw new Error(`client credentials with private_key_jwt: ${error.response ? await error.response.text() : error}`);
}
assert(s2sTokens.token_type.toLowerCase() === 'dpop' && jose.decodeJwt(s2sTokens.access_token).cnf?.jkt, 'a bound S2S token');
for (const path of ['/info', '/api/v1/users']) {
  const response = await client.fetchProtectedResource(s2s, s2sTokens.access_token, new URL(`${issuer}${path}`), 'GET', undefined, undefined, { DPoP: s2sDpop });
  assert(response.status === 200, `${path} with DPoP: ${response.status}`);
  const bare = await fetch(`${issuer}${path}`, { headers: { authorization: `Bearer ${s2sTokens.access_token}` } });
  assert(bare.status === 401, `${path} took the bound token as Bearer: ${bare.status}`);
}
// An S2S app made with client_secret_jwt: its assertions are HMACs of its secret (RFC 7523).
const made = await admin('POST', '/api/v1/apps', {
  name: 'HMAC caller', type: 's2s', scopes: ['read_user'], redirectUris: [], tokenEndpointAuthMethod: 'client_secret_jwt',
});
const hmacId = made.app.clientId;
const hmacSecret = made.app.secret;
assert(made.app.tokenEndpointAuthMethod === 'client_secret_jwt' && hmacSecret, `client_secret_jwt app: ${JSON.stringify(made.app)}`);
assert(meta.token_endpoint_auth_methods_supported.includes('client_secret_jwt'), 'client_secret_jwt in discovery');
const hmacClient = new client.Configuration(meta, hmacId, {}, client.ClientSecretJwt(hmacSecret));
client.allowInsecureRequests(hmacClient);
let hmacTokens;
try {
  hmacTokens = await client.clientCredentialsGrant(hmacClient, { scope: 'read_user' });
} catch (error) {
  throw new Error(`client credentials with client_secret_jwt: ${error.response ? await error.response.text() : error}`);
}
assert(jose.decodeJwt(hmacTokens.access_token).scope === 'read_user', 'an S2S token by client_secret_jwt');
async function tokenWith(form) {
  const response = await fetch(meta.token_endpoint, { method: 'POST', body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'read_user', ...form }) });
  return { status: response.status, body: await json(response) };
}
const hmacAssertion = (key, aud = issuer) => new jose.SignJWT({ jti: crypto.randomUUID() })
  .setProtectedHeader({ alg: 'HS256' }).setIssuer(hmacId).setSubject(hmacId).setAudience(aud)
  .setIssuedAt().setExpirationTime('1m').sign(new TextEncoder().encode(key));
const assertionForm = (assertion) => ({ client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: assertion });
const hmacOnce = await hmacAssertion(hmacSecret);
assert((await tokenWith(assertionForm(hmacOnce))).status === 200, 'a hand-made HMAC assertion works');
const hmacReplayed = await tokenWith(assertionForm(hmacOnce));
assert(hmacReplayed.status === 401 && hmacReplayed.body.error === 'invalid_client', `a replayed HMAC assertion: ${JSON.stringify(hmacReplayed)}`);
const guessed = await tokenWith(assertionForm(await hmacAssertion('not-the-secret-but-long-enough-0123456789')));
assert(guessed.status === 401 && guessed.body.error_description.includes('client secret'), `an HMAC with another secret: ${JSON.stringify(guessed)}`);
const hmacElsewhere = await tokenWith(assertionForm(await hmacAssertion(hmacSecret, 'https://other.example')));
assert(hmacElsewhere.status === 401, `an HMAC assertion for another audience: ${hmacElsewhere.status}`);
const plain = await tokenWith({ client_id: hmacId, client_secret: hmacSecret });
assert(plain.status === 401 && plain.body.error === 'invalid_client', `the bare secret of a client_secret_jwt app: ${JSON.stringify(plain)}`);
console.log('high-assurance: ok');
