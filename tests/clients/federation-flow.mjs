// A person signs in to one Gatehouse through another Gatehouse acting as its OpenID Connect
// provider, in headless Chromium: the app's authorize request → the sign-in page's provider
// button → the upstream's sign-in (a sign-up there) and consent → back through the callback →
// consent downstream → at the app with a code; the app exchanges it and reads userinfo.
// Env: ISSUER (downstream), UPSTREAM, PROVIDER (its configured name), CLIENT_ID, REDIRECT_URI,
// EMAIL, PASSWORD.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ARTIFACTS, assert, authorizeRequest, completeSignIn, json, launch, need, serveApp } from './lib/browser.mjs';

const issuer = need('ISSUER');
const upstream = need('UPSTREAM');
const provider = need('PROVIDER');
const clientId = need('CLIENT_ID');
const redirectUri = need('REDIRECT_URI');
const user = { email: need('EMAIL'), password: need('PASSWORD'), signUp: true, firstName: 'Katherine', lastName: 'Johnson' };

const { url: authorize, verifier, state, nonce } = authorizeRequest(issuer, clientId, redirectUri);

const stopApp = await serveApp(new URL(redirectUri).origin);
const browser = await launch();
try {
  const page = await (await browser.newContext({ locale: 'en' })).newPage();
  await page.goto(authorize.href);
  const button = page.locator(`#oidc-${provider}`);
  assert((await button.textContent()).trim() === `Sign in with ${provider}`, 'the provider button is labelled');
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, 'federation-provider-button.png'), fullPage: true });
  await Promise.all([page.waitForURL((url) => url.href.startsWith(upstream)), button.click()]);

  const { url, seen } = await completeSignIn(page, null, { redirectUri, user, shots: 'federation' });
  // Upstream: sign-in, sign-up, consent; then downstream: consent.
  assert(seen.join(',') === 'sign-in,sign-up,consent,consent', `pages seen: ${seen}`);
  const back = new URL(url);
  assert(back.searchParams.get('state') === state, 'state echoed');
  const code = back.searchParams.get('code');

  const token = await fetch(`${issuer}/oauth2/v1/token`, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: verifier, client_id: clientId }),
  });
  const tokens = await json(token);
  assert(token.status === 200, `token exchange: ${JSON.stringify(tokens)}`);
  const claims = JSON.parse(Buffer.from(tokens.id_token.split('.')[1], 'base64url'));
  assert(claims.iss === issuer && claims.nonce === nonce, 'the downstream issued the ID token');

  const info = await fetch(`${issuer}/oauth2/v1/userinfo`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
  const profile = await json(info);
  assert(info.status === 200, `userinfo: ${JSON.stringify(profile)}`);
  assert(profile.sub === claims.sub, 'userinfo names the same user');
  assert(profile.email === user.email, `the upstream's email came along: ${JSON.stringify(profile)}`);
  assert(profile.firstName === 'Katherine', `the upstream's names came along: ${JSON.stringify(profile)}`);
  console.log(`AUTH_ID=${claims.sub}`);
  console.log('federation flow: ok');
} finally {
  await browser.close();
  await stopApp();
}
