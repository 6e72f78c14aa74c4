// openid-client plays a device without a browser (RFC 8628): it finds the device endpoint in the
// RFC 8414 metadata, starts a device authorization and polls (`initiateDeviceAuthorization`,
// `pollDeviceAuthorizationGrant`) while headless Chromium plays the user on another device:
// the verification page, sign-up, consent. jose checks the ID token on its own. A second device
// is denied by the user and its poll ends in `access_denied`.
// Env: ISSUER, CLIENT_ID (a SPA app with the device flow on), EMAIL, PASSWORD.
import * as client from 'openid-client';
import * as jose from 'jose';
import { approveDevice, assert, launch, need } from './lib/browser.mjs';

const issuer = need('ISSUER');
const clientId = need('CLIENT_ID');
const user = { email: need('EMAIL'), password: need('PASSWORD'), signUp: true };

const config = await client.discovery(new URL(issuer), clientId, undefined, client.None(), {
  algorithm: 'oauth2',
  execute: [client.allowInsecureRequests],
});
const meta = config.serverMetadata();
assert(meta.device_authorization_endpoint === `${issuer}/oauth2/v1/device_authorization`, `RFC 8414 metadata: ${JSON.stringify(meta)}`);
assert(meta.grant_types_supported.includes('urn:ietf:params:oauth:grant-type:device_code'), 'the device grant is advertised');

const browser = await launch();
try {
  const started = await client.initiateDeviceAuthorization(config, { scope: 'openid profile offline_access' });
  assert(/^[B-Z]{4}-[B-Z]{4}$/.test(started.user_code) && started.verification_uri === `${issuer}/device`, `device authorization: ${JSON.stringify(started)}`);
  const polling = client.pollDeviceAuthorizationGrant(config, started);
  const page = await (await browser.newContext()).newPage();
  const heading = await approveDevice(page, started.verification_uri_complete, { userCode: started.user_code, user, shots: 'device-flow' });
  assert(heading === 'Your device is signed in', `the page after approval: ${heading}`);
  const tokens = await polling;
  assert(tokens.access_token && tokens.refresh_token && tokens.id_token, `tokens: ${JSON.stringify(Object.keys(tokens))}`);

  const jwks = jose.createRemoteJWKSet(new URL(meta.jwks_uri));
  const { payload } = await jose.jwtVerify(tokens.id_token, jwks, { issuer, audience: clientId });
  assert(payload.email === user.email && payload.auth_time, `id token claims: ${JSON.stringify(payload)}`);
  const info = await client.fetchUserInfo(config, tokens.access_token, payload.sub);
  assert(info.sub === payload.sub, `userinfo: ${JSON.stringify(info)}`);
  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
  assert(refreshed.access_token && refreshed.access_token !== tokens.access_token, 'a refreshed access token');

  // The user refuses a second device; its polling ends with access_denied.
  const second = await client.initiateDeviceAuthorization(config, { scope: 'openid' });
  const refused = client.pollDeviceAuthorizationGrant(config, second).then(
    () => { throw new Error('a denied device got tokens'); },
    (error) => error,
  );
  const other = await (await browser.newContext()).newPage();
  const denied = await approveDevice(other, second.verification_uri_complete, { userCode: second.user_code, user, decision: 'deny' });
  assert(denied === 'Sign-in refused', `the page after denial: ${denied}`);
  const error = await refused;
  assert(error.error === 'access_denied', `the denied device's poll: ${error}`);
} finally {
  await browser.close();
}
console.log('openid-client device flow: ok');
