// Melody's own browser SDK (@melody-auth/web, unchanged from the npm registry) in a test app page
// in headless Chromium: login redirect, code exchange, userinfo, refresh, logout.
// Env: ISSUER, CLIENT_ID, APP_ORIGIN (redirect URIs APP_ORIGIN/cb and APP_ORIGIN/signed-out are
// registered; the app has refresh-token rotation off), EMAIL, PASSWORD.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { assert, completeSignIn, json, launch, need, serveApp } from './lib/browser.mjs';

const issuer = need('ISSUER');
const appOrigin = need('APP_ORIGIN');
const config = {
  serverUri: issuer,
  clientId: need('CLIENT_ID'),
  redirectUri: `${appOrigin}/cb`,
  scopes: ['openid', 'profile', 'offline_access'],
  storage: 'localStorage',
};
const user = { email: need('EMAIL'), password: need('PASSWORD'), signUp: true };

const sdkPath = createRequire(import.meta.url).resolve('@melody-auth/web');
const sdk = readFileSync(sdkPath, 'utf8').replace(/\/\/# sourceMappingURL=.*$/m, '');
const appPage = `<!doctype html><title>app</title>
<script type="module">import * as sdk from '/sdk.js'; window.sdk = sdk;</script><p>the app</p>`;

const browser = await launch();
let stopApp = async () => {};
try {
  const context = await browser.newContext();
  stopApp = await serveApp(appOrigin, (url) => (new URL(url).pathname === '/sdk.js'
    ? { body: sdk, contentType: 'text/javascript' }
    : { body: appPage }));
  const page = await context.newPage();
  page.on('requestfailed', (r) => console.error(`request failed: ${r.method()} ${r.url()} ${r.failure()?.errorText}`));
  page.on('console', (m) => { if (m.type() === 'error') console.error(`page: ${m.text()}`); });
  const sdkReady = () => page.waitForFunction(() => window.sdk !== undefined);

  // 1. loginRedirect: the SDK sends the browser to Gatehouse's authorize endpoint.
  console.log('step 1');
  await page.goto(`${appOrigin}/`);
  await sdkReady();
  await Promise.all([
    page.waitForURL((u) => u.href.startsWith(`${issuer}/`)),
    page.evaluate((c) => { window.sdk.triggerLogin('redirect', c, { locale: 'en' }); }, config),
  ]);
  const { url } = await completeSignIn(page, null, { redirectUri: config.redirectUri, user });
  assert(new URL(url).searchParams.get('code'), 'back at the app with a code');

  // 2. handleRedirectCallback: the SDK exchanges the code (PKCE verifier from sessionStorage).
  console.log('step 2');
  await sdkReady();
  const stored = await page.evaluate(async (c) => {
    const { code, state } = window.sdk.loadCodeAndStateFromUrl();
    return window.sdk.exchangeTokenByAuthCode(code, state, c);
  }, config);
  const accessToken = stored.accessTokenStorage.accessToken;
  const refreshToken = stored.refreshTokenStorage.refreshToken;
  assert(accessToken && refreshToken && stored.idTokenStorage.account.email === user.email, `tokens: ${JSON.stringify(stored)}`);
  assert(!page.url().includes('code='), 'the SDK cleaned the URL');

  // 3. getUserInfo.
  console.log('step 3');
  const info = await page.evaluate(([c, t]) => window.sdk.getUserInfo(c, { accessToken: t }), [config, accessToken]);
  assert(info.email === user.email && info.authId === stored.idTokenStorage.account.sub, `userinfo: ${JSON.stringify(info)}`);

  // 4. Refresh twice with the same refresh token (the SDK keeps the first one; rotation is off).
  console.log('step 4');
  for (let i = 0; i < 2; i += 1) {
    const fresh = await page.evaluate(([c, r]) => window.sdk.exchangeTokenByRefreshToken(c, r), [config, refreshToken]);
    assert(fresh.accessToken && fresh.expiresIn > 0 && fresh.expiresOn > 0, `refresh ${i}: ${JSON.stringify(fresh)}`);
  }

  // 5. logoutRedirect: remote logout, then Gatehouse's end-session page sends the browser back.
  console.log('step 5');
  const signedOut = `${appOrigin}/signed-out`;
  await Promise.all([
    page.waitForURL((u) => u.href.startsWith(signedOut), { timeout: 15_000 }),
    page.evaluate(([c, a, r, p]) => { window.sdk.logout(c, a, r, p, false); }, [config, accessToken, refreshToken, signedOut]),
  ]);
  const stale = await fetch(`${issuer}/oauth2/v1/token`, {
    method: 'POST', body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }),
  });
  assert(stale.status === 400, `the refresh token still works after logout: ${stale.status} ${JSON.stringify(await json(stale))}`);
  const remaining = await page.evaluate(() => localStorage.getItem('melody-auth-refresh-token'));
  assert(remaining === null, 'the SDK forgot the refresh token');

  // 6. The browser session is over: signing in again asks for the password.
  console.log('step 6');
  await sdkReady();
  await Promise.all([
    page.waitForURL((u) => u.href.startsWith(`${issuer}/`)),
    page.evaluate((c) => { window.sdk.triggerLogin('redirect', c, {}); }, config),
  ]);
  await page.waitForSelector('#sign-in-form');

  // 7. Popup login: Gatehouse's last page posts the code to the opener, the SDK closes it.
  console.log('step 7');
  await page.goto(`${appOrigin}/`);
  await sdkReady();
  const [popup] = await Promise.all([
    context.waitForEvent('page'),
    page.evaluate((c) => {
      window.sdk.triggerLogin('popup', c, { authorizePopupHandler: (data) => { window.popupResult = data; } });
    }, config),
  ]);
  await popup.waitForSelector('#sign-in-form');
  await popup.fill('#email', user.email);
  await popup.fill('#password', user.password);
  await popup.click('#submit');
  await page.waitForFunction(() => window.popupResult !== undefined, null, { timeout: 15_000 });
  const posted = await page.evaluate(() => window.popupResult);
  assert(posted.code && posted.state, `popup message: ${JSON.stringify(posted)}`);
  const popupTokens = await page.evaluate(
    ([c, d]) => window.sdk.exchangeTokenByAuthCode(d.code, d.state, c),
    [config, posted],
  );
  assert(popupTokens.accessTokenStorage.accessToken, 'popup code exchanged');
  console.log('melody sdk: ok');
} finally {
  await browser.close();
  await stopApp();
}
