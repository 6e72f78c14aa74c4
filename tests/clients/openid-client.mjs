// openid-client (a certified relying party) against Gatehouse, with the sign-in step in headless
// Chromium: discovery → code + PKCE + nonce → token (ID token signature checked via JWKS) →
// userinfo → refresh → introspection (RFC 7662, by the app and by a resource server that found the
// server through RFC 8414 metadata) → revoke. jose checks the ID token again on its own and refuses
// forgeries.
// Env: ISSUER, CLIENT_ID, CLIENT_SECRET (a confidential `web` app), REDIRECT_URI, EMAIL, PASSWORD,
// RS_CLIENT_ID, RS_CLIENT_SECRET (an S2S app standing for a resource server).
import * as client from 'openid-client';
import * as jose from 'jose';
import { assert, codeFlow, json, need, signInOnce } from './lib/browser.mjs';

const issuer = need('ISSUER');
const clientId = need('CLIENT_ID');
const redirectUri = need('REDIRECT_URI');
const user = { email: need('EMAIL'), password: need('PASSWORD'), signUp: true };

const config = await client.discovery(new URL(issuer), clientId, need('CLIENT_SECRET'), undefined, {
  execute: [client.allowInsecureRequests],
});
client.enableNonRepudiationChecks(config);
const meta = config.serverMetadata();
assert(meta.issuer === issuer && meta.end_session_endpoint, 'discovery document');

const { verifier, state, nonce, params } = await codeFlow(client, redirectUri);
const url = client.buildAuthorizationUrl(config, params);

const callback = await signInOnce(url.href, { redirectUri, user });

// The library checks state, iss, the code exchange, the ID token's signature, nonce, aud, exp.
const tokens = await client.authorizationCodeGrant(config, new URL(callback), {
  pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true,
});
const claims = tokens.claims();
assert(claims.sub && claims.email === user.email && claims.auth_time && claims.at_hash, `id token claims: ${JSON.stringify(claims)}`);
assert(tokens.refresh_token, 'a refresh token (offline_access)');

// An independent check of the ID token with jose, and two forgeries it must refuse.
const jwks = jose.createRemoteJWKSet(new URL(meta.jwks_uri));
const { protectedHeader } = await jose.jwtVerify(tokens.id_token, jwks, { issuer, audience: clientId });
assert(protectedHeader.kid, 'the ID token names its key');
const parts = tokens.id_token.split('.');
const forged = JSON.parse(Buffer.from(parts[1], 'base64url'));
forged.email = 'mallory@example.com';
const tampered = [parts[0], Buffer.from(JSON.stringify(forged)).toString('base64url'), parts[2]].join('.');
const unsigned = [Buffer.from('{"alg":"none"}').toString('base64url'), parts[1], ''].join('.');
for (const [name, token] of [['tampered', tampered], ['unsigned', unsigned]]) {
  let refused = false;
  try { await jose.jwtVerify(token, jwks, { issuer, audience: clientId }); } catch { refused = true; }
  assert(refused, `a ${name} ID token verified`);
}

const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
assert(info.sub === claims.sub && info.email === user.email, `userinfo: ${JSON.stringify(info)}`);

const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
assert(refreshed.access_token && refreshed.access_token !== tokens.access_token, 'a new access token');
const current = refreshed.refresh_token || tokens.refresh_token;

// A resource server discovers the server through RFC 8414 metadata and introspects the user's
// access token; the app introspects its own refresh token. Only the app sees its refresh token.
const rs = await client.discovery(new URL(issuer), need('RS_CLIENT_ID'), need('RS_CLIENT_SECRET'), undefined, {
  execute: [client.allowInsecureRequests], algorithm: 'oauth2',
});
const rsMeta = rs.serverMetadata();
assert(rsMeta.introspection_endpoint === meta.introspection_endpoint && rsMeta.introspection_endpoint, `RFC 8414 metadata: ${JSON.stringify(rsMeta)}`);
const seen = await client.tokenIntrospection(rs, refreshed.access_token);
assert(seen.active === true && seen.client_id === clientId && seen.sub === claims.sub && seen.token_type === 'Bearer'
  && seen.scope.split(' ').includes('openid') && seen.exp > Date.now() / 1000, `access token introspected: ${JSON.stringify(seen)}`);
const own = await client.tokenIntrospection(config, current, { token_type_hint: 'refresh_token' });
assert(own.active === true && own.client_id === clientId && own.sub === claims.sub, `refresh token introspected by its app: ${JSON.stringify(own)}`);
const foreign = await client.tokenIntrospection(rs, current, { token_type_hint: 'refresh_token' });
assert(foreign.active === false && Object.keys(foreign).length === 1, `refresh token introspected by another app: ${JSON.stringify(foreign)}`);

await client.tokenRevocation(config, current, { token_type_hint: 'refresh_token' });
try {
  await client.refreshTokenGrant(config, current);
  throw new Error('a revoked refresh token still works');
} catch (e) {
  assert(e.error === 'invalid_grant' && e.status === 400, `revoked refresh token: ${e.error} ${e.status} ${e.message}`);
}
// Revoking the access token ends it too: userinfo refuses it.
await client.tokenRevocation(config, refreshed.access_token, { token_type_hint: 'access_token' });
const after = await fetch(meta.userinfo_endpoint, { headers: { authorization: `Bearer ${refreshed.access_token}` } });
assert(after.status === 401, `userinfo after revocation: ${after.status} ${JSON.stringify(await json(after).catch(() => null))}`);
for (const token of [current, refreshed.access_token]) {
  const gone = await client.tokenIntrospection(config, token);
  assert(gone.active === false, `a revoked token introspected: ${JSON.stringify(gone)}`);
}
console.log('openid-client: ok');
