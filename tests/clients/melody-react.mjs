// Melody's React SDK (@melody-auth/react, unchanged from the npm registry) in a small React app
// (apps/melody-react, bundled here in memory with esbuild) in headless Chromium: login redirect
// with the SDK's own code exchange, userinfo, refresh on expiry and on reload, logout, popup login.
// Env: ISSUER, CLIENT_ID, APP_ORIGIN (redirect URIs APP_ORIGIN/cb and APP_ORIGIN/signed-out are
// registered; the app has refresh-token rotation off), EMAIL, PASSWORD.
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import * as jose from 'jose';
import { assert, completeSignIn, json, launch, need, serveApp } from './lib/browser.mjs';

const issuer = need('ISSUER');
const clientId = need('CLIENT_ID');
const appOrigin = need('APP_ORIGIN');
const config = {
  serverUri: issuer,
  clientId,
  redirectUri: `${appOrigin}/cb`,
  scopes: ['openid', 'profile', 'offline_access'],
  storage: 'localStorage',
};
const user = { email: need('EMAIL'), password: need('PASSWORD'), signUp: true };

const bundle = await build({
  entryPoints: [fileURLToPath(new URL('./apps/melody-react/main.jsx', import.meta.url))],
  bundle: true,
  write: false,
  format: 'esm',
  jsx: 'automatic',
  target: 'es2020',
  logLevel: 'silent',
  define: { APP_CONFIG: JSON.stringify(config), 'process.env.NODE_ENV': '"production"' },
});
const appJs = bundle.outputFiles[0].text;
const appPage = `<!doctype html><html lang="en"><title>Melody React app</title>
<div id="root"></div><script type="module" src="/app.js"></script>`;

// Every token and logout call the app's pages make, with the grant and the answer.
const calls = [];
// The callback URLs Gatehouse sent the browser to (the SDK cleans the address bar at once).
const callbacks = [];
function watch(page) {
  page.on('requestfailed', (r) => console.error(`request failed: ${r.method()} ${r.url()} ${r.failure()?.errorText}`));
  page.on('console', (m) => { if (m.type() === 'error' && !m.location().url.endsWith('/favicon.ico')) console.error(`page: ${m.text()} (${m.location().url})`); });
  page.on('pageerror', (e) => console.error(`page error: ${e}`));
  page.on('request', (r) => { if (r.isNavigationRequest() && r.url().startsWith(`${config.redirectUri}?`)) callbacks.push(r.url()); });
  page.on('response', (response) => {
    const request = response.request();
    if (request.method() !== 'POST') return;
    const { pathname } = new URL(request.url());
    if (pathname !== '/oauth2/v1/token' && pathname !== '/identity/v1/logout') return;
    const form = new URLSearchParams(request.postData() || '');
    calls.push(response.json().catch(() => null)
      .then((body) => ({ pathname, grant: form.get('grant_type'), form, status: response.status(), body })));
  });
}
const callsTo = async (pathname, grant) => (await Promise.all(calls))
  .filter((c) => c.pathname === pathname && (!grant || c.grant === grant));

/** The SDK's state as the app renders it, once `ready` holds for it (up to 15 s). */
async function authState(page, ready = () => true, what = 'the expected state') {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const text = await page.textContent('#auth').catch(() => null);
    const state = text && JSON.parse(text);
    if (state && ready(state)) return state;
    if (Date.now() > deadline) throw new Error(`the app never reached ${what}: ${text}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Clicks the app's button `id` and returns the outcome of its action. */
async function act(page, id) {
  await page.click(`#${id}`);
  await page.waitForFunction((name) => {
    const r = JSON.parse(document.querySelector('#result').textContent);
    return r && r.name === name && !r.pending;
  }, id, { timeout: 15_000 });
  return JSON.parse(await page.textContent('#result'));
}

async function userinfoWith(accessToken) {
  const response = await fetch(`${issuer}/oauth2/v1/userinfo`, { headers: { authorization: `Bearer ${accessToken}` } });
  return { status: response.status, body: await json(response) };
}

const meta = await json(await fetch(`${issuer}/.well-known/openid-configuration`));
const jwks = jose.createRemoteJWKSet(new URL(meta.jwks_uri));

const browser = await launch();
let stopApp = async () => {};
try {
  const context = await browser.newContext();
  stopApp = await serveApp(appOrigin, (url) => (new URL(url).pathname === '/app.js'
    ? { body: appJs, contentType: 'text/javascript' }
    : { body: appPage }));
  let page = await context.newPage();
  watch(page);

  // 1. A signed-out visitor: the SDK settles on "not authenticated"; loginRedirect sends the
  //    browser to Gatehouse's authorize endpoint with PKCE.
  console.log('step 1');
  await page.goto(`${appOrigin}/`);
  const initial = await authState(page, (s) => !s.isAuthenticating, 'a settled signed-out state');
  assert(!initial.isAuthenticated && !initial.accessToken && !initial.errors.authentication, `signed out at first: ${JSON.stringify(initial)}`);
  const [authorize] = await Promise.all([
    page.waitForRequest((r) => r.url().startsWith(`${issuer}/oauth2/v1/authorize?`)),
    page.click('#login'),
  ]);
  const asked = new URL(authorize.url()).searchParams;
  assert(asked.get('client_id') === clientId && asked.get('code_challenge_method') === 'S256', `loginRedirect went to ${authorize.url()}`);
  await completeSignIn(page, null, { redirectUri: config.redirectUri, user });
  const back = callbacks.map((u) => new URL(u).searchParams);
  assert(back.length === 1 && back[0].get('code') && back[0].get('state') === asked.get('state'),
    `back at the app with a code and the state: ${callbacks}`);

  // 2. The provider exchanges the code on its own (PKCE verifier from sessionStorage).
  console.log('step 2');
  const signedIn = await authState(page, (s) => s.isAuthenticated && s.refreshToken && s.account,
    'an authenticated state with a refresh token and an account');
  assert(signedIn.accessToken && signedIn.idToken && Object.values(signedIn.errors).every((e) => !e), `tokens: ${JSON.stringify(signedIn)}`);
  assert(signedIn.account.email === user.email, `the ID token is ${user.email}'s: ${JSON.stringify(signedIn.account)}`);
  const codeGrants = await callsTo('/oauth2/v1/token', 'authorization_code');
  assert(codeGrants.length === 1 && codeGrants[0].status === 200 && codeGrants[0].form.get('code_verifier'),
    `one code exchange with a verifier: ${JSON.stringify(codeGrants.map((c) => [c.status, c.body]))}`);
  const first = codeGrants[0].body;
  assert(first.expires_on > Date.now() / 1000 + 60 && first.refresh_token_expires_on > first.expires_on,
    `token lifetimes: ${JSON.stringify(first)}`);
  const { payload: idClaims } = await jose.jwtVerify(signedIn.idToken, jwks, { issuer, audience: clientId });
  assert(idClaims.sub === signedIn.account.sub && idClaims.email === user.email, `ID token claims: ${JSON.stringify(idClaims)}`);
  assert(!page.url().includes('code='), `the SDK cleaned the URL: ${page.url()}`);
  await page.waitForSelector(`#greeting:has-text("Signed in as ${user.email}")`);

  // 3. acquireUserInfo: Gatehouse's userinfo for the access token, kept in the SDK's state.
  console.log('step 3');
  const info = await act(page, 'userinfo');
  assert(info.value && info.value.email === user.email && info.value.authId === signedIn.account.sub, `userinfo: ${JSON.stringify(info)}`);
  const withInfo = await authState(page, (s) => s.userInfo);
  assert(withInfo.userInfo.authId === signedIn.account.sub, `userinfo in the SDK state: ${JSON.stringify(withInfo.userInfo)}`);

  // 4. acquireToken: the fresh token is reused; once the page's clock passes its expires_on, the
  //    SDK posts the refresh grant and gets a new token that Gatehouse accepts.
  console.log('step 4');
  const reused = await act(page, 'token');
  assert(reused.value === signedIn.accessToken, `a valid token is reused: ${JSON.stringify(reused)}`);
  assert((await callsTo('/oauth2/v1/token', 'refresh_token')).length === 0, 'no refresh while the token is valid');
  await page.clock.setSystemTime((first.expires_on - 1) * 1000);
  const renewed = await act(page, 'token');
  const refreshes = await callsTo('/oauth2/v1/token', 'refresh_token');
  assert(refreshes.length === 1 && refreshes[0].status === 200 && refreshes[0].form.get('refresh_token') === signedIn.refreshToken,
    `one refresh grant with the stored refresh token: ${JSON.stringify(refreshes.map((c) => [c.status, c.body]))}`);
  assert(renewed.value && renewed.value !== signedIn.accessToken && renewed.value === refreshes[0].body.access_token,
    `acquireToken returned the refreshed token: ${JSON.stringify(renewed)}`);
  const renewedInfo = await userinfoWith(renewed.value);
  assert(renewedInfo.status === 200 && renewedInfo.body.email === user.email, `userinfo with the refreshed token: ${JSON.stringify(renewedInfo)}`);
  // Back to real time, so the tokens issued from here on look fresh to the SDK.
  await page.clock.setSystemTime(Date.now());

  // 5. A new tab: the provider restores the session from the refresh token in localStorage with
  //    a refresh grant; rotation is off, so the same token Gatehouse accepted in step 4 works again.
  console.log('step 5');
  await page.close();
  page = await context.newPage();
  watch(page);
  await page.goto(`${appOrigin}/`);
  const restored = await authState(page, (s) => s.isAuthenticated && s.accessToken, 'a restored session');
  const restoreGrants = (await callsTo('/oauth2/v1/token', 'refresh_token')).slice(1);
  assert(restoreGrants.length === 1 && restoreGrants[0].status === 200 && restored.accessToken === restoreGrants[0].body.access_token,
    `the session was restored by one refresh grant: ${JSON.stringify(restoreGrants.map((c) => [c.status, c.body]))}`);
  assert(restored.refreshToken === signedIn.refreshToken && restored.account.sub === signedIn.account.sub, `restored: ${JSON.stringify(restored)}`);
  const restoredInfo = await userinfoWith(restored.accessToken);
  assert(restoredInfo.status === 200 && restoredInfo.body.authId === signedIn.account.sub, `userinfo after restore: ${JSON.stringify(restoredInfo)}`);

  // 6. logoutRedirect: remote logout with the refresh token, then Gatehouse sends the browser to
  //    the post-logout URI; the refresh token is dead and the SDK forgot it.
  console.log('step 6');
  const signedOut = `${appOrigin}/signed-out`;
  await Promise.all([page.waitForURL((u) => u.href.startsWith(signedOut), { timeout: 15_000 }), page.click('#logout')]);
  const logouts = await callsTo('/identity/v1/logout');
  assert(logouts.length === 1 && logouts[0].status === 200 && logouts[0].form.get('refresh_token') === signedIn.refreshToken,
    `one remote logout with the refresh token: ${JSON.stringify(logouts.map((c) => [c.status, c.body]))}`);
  const stale = await fetch(`${issuer}/oauth2/v1/token`, {
    method: 'POST', body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: signedIn.refreshToken }),
  });
  assert(stale.status === 400, `the refresh token still works after logout: ${stale.status} ${JSON.stringify(await json(stale))}`);
  const remaining = await page.evaluate(() => [localStorage.getItem('melody-auth-refresh-token'), localStorage.getItem('melody-auth-id-token')]);
  assert(remaining.every((v) => v === null), `the SDK forgot the tokens: ${JSON.stringify(remaining)}`);
  const afterLogout = await authState(page, (s) => !s.isAuthenticating, 'a settled state after logout');
  assert(!afterLogout.isAuthenticated && !afterLogout.refreshToken, `signed out: ${JSON.stringify(afterLogout)}`);

  // 7. loginPopup: the Gatehouse session is over, so the popup asks for the password; its last
  //    page posts the code to the app and the SDK exchanges it.
  console.log('step 7');
  const [popup] = await Promise.all([context.waitForEvent('page'), page.click('#login-popup')]);
  await popup.waitForSelector('#sign-in-form');
  await popup.fill('#email', user.email);
  await popup.fill('#password', user.password);
  await Promise.all([popup.waitForEvent('close', { timeout: 15_000 }), popup.click('#submit')]);
  const popupSignIn = await authState(page, (s) => s.isAuthenticated && s.refreshToken, 'an authenticated state after the popup');
  assert(popupSignIn.account.email === user.email && popupSignIn.refreshToken !== signedIn.refreshToken,
    `popup sign-in: ${JSON.stringify(popupSignIn)}`);
  assert((await callsTo('/oauth2/v1/token', 'authorization_code')).length === 2, 'the popup code was exchanged');
  console.log('melody react: ok');
} finally {
  await browser.close();
  await stopApp();
}
