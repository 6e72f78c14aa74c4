// Dynamic client registration (RFC 7591) and management (RFC 7592), driven by openid-client:
// with an initial access token from a root S2S caller, a web client registers itself with its
// public key (private_key_jwt), then pushes an authorization request authenticated with that
// key; it reads, changes and deletes its registration with its registration access token.
// Refused: registering without the initial token, or with one already used, or with metadata
// outside the policy; managing another client's registration, or with a wrong token.
// Env: ISSUER, ADMIN_TOKEN (root), REDIRECT_URI.
import * as client from 'openid-client';
import * as jose from 'jose';
import { assert, json, need } from './lib/browser.mjs';

const issuer = need('ISSUER');
const redirectUri = need('REDIRECT_URI');
const insecure = [client.allowInsecureRequests];

async function initialToken() {
  const response = await fetch(`${issuer}/api/v1/registration-tokens`, {
    method: 'POST', headers: { authorization: `Bearer ${need('ADMIN_TOKEN')}` },
  });
  const body = await json(response);
  assert(response.status === 201 && body.initialAccessToken, `initial token: ${JSON.stringify(body)}`);
  return body.initialAccessToken;
}
async function register(metadata, token) {
  const headers = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(`${issuer}/oauth2/v1/register`, { method: 'POST', headers, body: JSON.stringify(metadata) });
  return { status: response.status, body: await json(response) };
}

const meta = await (await fetch(`${issuer}/.well-known/openid-configuration`)).json();
assert(meta.registration_endpoint === `${issuer}/oauth2/v1/register`, 'registration endpoint in discovery');

const keys = await jose.generateKeyPair('ES256', { extractable: true });
const jwk = { ...(await jose.exportJWK(keys.publicKey)), kid: 'reg-1' };
const metadata = {
  client_name: 'Self-registered app',
  redirect_uris: [redirectUri],
  grant_types: ['authorization_code', 'refresh_token'],
  token_endpoint_auth_method: 'private_key_jwt',
  jwks: { keys: [jwk] },
  scope: 'openid profile root',
};

// Refused: no initial token; a made-up one; metadata the policy does not offer.
const bare = await register(metadata);
assert(bare.status === 401 && bare.body.error === 'invalid_token', `no initial token: ${JSON.stringify(bare)}`);
const madeUp = await register(metadata, 'not-a-token');
assert(madeUp.status === 401, `a made-up initial token: ${madeUp.status}`);
const tokenForBadMetadata = await initialToken();
const s2sGrant = await register({ ...metadata, grant_types: ['client_credentials'] }, tokenForBadMetadata);
assert(s2sGrant.status === 400 && s2sGrant.body.error === 'invalid_client_metadata', `client_credentials: ${JSON.stringify(s2sGrant)}`);
// Metadata outside the policy does not use up the token.
const corrected = await register({ ...metadata, client_name: 'Corrected app' }, tokenForBadMetadata);
assert(corrected.status === 201, `the token after refused metadata: ${JSON.stringify(corrected)}`);
const badRedirect = await register({ ...metadata, redirect_uris: ['javascript:alert(1)'] }, await initialToken());
assert(badRedirect.status === 400 && badRedirect.body.error === 'invalid_redirect_uri', `javascript: redirect: ${JSON.stringify(badRedirect)}`);

// openid-client registers, with the initial token.
const iat = await initialToken();
const config = await client.dynamicClientRegistration(new URL(issuer), metadata, client.PrivateKeyJwt({ key: keys.privateKey, kid: 'reg-1' }), {
  initialAccessToken: iat, execute: insecure,
});
const registered = config.clientMetadata();
assert(registered.client_id && !registered.client_secret, `registered: ${JSON.stringify(registered)}`);
assert(registered.scope.split(' ').sort().join(' ') === 'openid profile', `the policy keeps root out: ${registered.scope}`);
assert(registered.registration_access_token && registered.registration_client_uri, 'RFC 7592 credentials');
const reused = await register(metadata, iat);
assert(reused.status === 401, `an initial token registered twice: ${reused.status}`);

// The registered client authenticates with its key: a pushed request is accepted.
const url = await client.buildAuthorizationUrlWithPAR(config, {
  redirect_uri: redirectUri, scope: 'openid', state: client.randomState(),
  code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()), code_challenge_method: 'S256',
});
assert(url.searchParams.get('request_uri'), `PAR with the registered client: ${url}`);

// RFC 7592: read, change, delete with the registration access token; nothing with another.
const manage = (method, token, body) => fetch(registered.registration_client_uri, {
  method,
  headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
  body: body && JSON.stringify(body),
});
const read = await manage('GET', registered.registration_access_token);
const readBody = await json(read);
assert(read.status === 200 && readBody.client_id === registered.client_id && readBody.jwks.keys[0].kid === 'reg-1', `read: ${JSON.stringify(readBody)}`);
assert((await manage('GET', 'wrong-token')).status === 401, 'a wrong registration token was accepted');
const renamed = await manage('PUT', registered.registration_access_token, {
  ...metadata, client_id: registered.client_id, client_name: 'Renamed app',
});
const renamedBody = await json(renamed);
assert(renamed.status === 200 && renamedBody.client_name === 'Renamed app', `update: ${JSON.stringify(renamedBody)}`);
// A replacement that leaves the keys out would leave a private_key_jwt client without them.
const keyless = await manage('PUT', registered.registration_access_token, {
  client_id: registered.client_id, redirect_uris: [redirectUri], token_endpoint_auth_method: 'private_key_jwt',
});
assert(keyless.status === 400 && (await json(keyless)).error === 'invalid_client_metadata', `a keyless replacement: ${keyless.status}`);
const otherIat = await initialToken();
const other = await register({ ...metadata, client_name: 'Other app' }, otherIat);
assert(other.status === 201, `second registration: ${JSON.stringify(other.body)}`);
const crossed = await fetch(registered.registration_client_uri, { headers: { authorization: `Bearer ${other.body.registration_access_token}` } });
assert(crossed.status === 401, `another client's registration token read this one: ${crossed.status}`);
assert((await manage('DELETE', registered.registration_access_token)).status === 204, 'delete');
assert((await manage('GET', registered.registration_access_token)).status === 401, 'a deleted registration still reads');
console.log('registration: ok');
