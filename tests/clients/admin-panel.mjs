// The admin panel in headless Chromium, the acceptance path: first-run setup → sign in as
// super_admin → create an app → create a user → assign a role → search the user → disable →
// the user's sign-in is refused → re-enable → the user signs in → impersonate → sign-in log.
// A screenshot of every page lands in test-artifacts/ (prefix SHOTS), and each page passes
// axe-core at WCAG 2.2 AA.
// Env: ISSUER, SETUP_LINK, ADMIN_EMAIL, USER_EMAIL, PASSWORD, APP_ORIGIN, ROLE, SHOTS.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ARTIFACTS, assert, completeSignIn, json, launch, need, serveApp } from './lib/browser.mjs';
import { audit } from './lib/a11y.mjs';

const issuer = need('ISSUER');
const adminEmail = need('ADMIN_EMAIL');
const userEmail = need('USER_EMAIL');
const password = need('PASSWORD');
const appOrigin = need('APP_ORIGIN');
const role = need('ROLE');
const shots = need('SHOTS');
const redirectUri = `${appOrigin}/cb`;
const panel = `${issuer}/admin`;
const taken = [];
// RFC 7636 appendix B: this verifier answers the challenge in authorizeUrl.
const VERIFIER = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';

async function shoot(page, name) {
  await audit(page, name);
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, `${shots}-${name}.png`), fullPage: true });
  taken.push(name);
}

async function submit(page, selector) {
  await Promise.all([page.waitForEvent('load', { timeout: 15_000 }), page.click(selector)]);
}

async function noRefusal(page, what) {
  const alert = await page.$('[role=alert]');
  if (alert) throw new Error(`${what} refused at ${page.url()}: ${await alert.textContent()}`);
}

function authorizeUrl(clientId) {
  const url = new URL(`${issuer}/oauth2/v1/authorize`);
  url.search = new URLSearchParams({
    response_type: 'code', client_id: clientId, redirect_uri: redirectUri, state: 'st-1', nonce: 'n-1',
    scope: 'openid profile offline_access', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    code_challenge_method: 'S256', locale: 'en',
  }).toString();
  return url.href;
}

const stopApp = await serveApp(appOrigin);
const browser = await launch();
try {
  const admin = await (await browser.newContext({ locale: 'en' })).newPage();

  // First run: the setup link makes the super_admin.
  await admin.goto(need('SETUP_LINK'));
  await admin.fill('#email', adminEmail);
  await admin.fill('#first_name', 'Root');
  await admin.fill('#last_name', 'Admin');
  await admin.fill('#password', password);
  await shoot(admin, 'setup');
  await submit(admin, '#submit');
  await noRefusal(admin, 'setup');
  await shoot(admin, 'setup-done');

  // Sign in to the panel through the authorize flow.
  await admin.goto(panel);
  await completeSignIn(admin, null, { redirectUri: panel, user: { email: adminEmail, password }, shots: `${shots}-admin` });
  assert((await admin.textContent('#admin-email')).trim() === adminEmail, 'signed in as the admin');
  assert((await admin.$$('#chart-sign-ins svg[role=img]')).length === 1, 'the dashboard draws its charts');
  await shoot(admin, 'dashboard');
  await admin.click('#nav-configuration');
  await admin.waitForSelector('#server-info');
  assert((await admin.$$('#server-info tbody tr')).length > 10, 'the configuration page shows the server configuration');
  await admin.goto(panel);

  // Keyboard: the first Tab reaches the skip link.
  await admin.keyboard.press('Tab');
  assert(await admin.evaluate(() => document.activeElement.classList.contains('skip')), 'skip link focused first');

  // Create a confidential app (its secret is shown once), then the browser app the user uses.
  await admin.click('#nav-apps');
  await admin.waitForSelector('#create-app-form');
  await admin.fill('#app-name', 'Billing backend');
  await admin.selectOption('#app-type', 'web');
  await admin.fill('#app-redirect-uris', 'https://billing.example.com/callback');
  await submit(admin, '#create-app');
  await noRefusal(admin, 'create web app');
  const secret = (await admin.textContent('#client-secret')).trim();
  assert(secret.length >= 40, 'the secret is shown once');
  await shoot(admin, 'app-created-secret');
  // Its logout channels: a front channel off the redirect URIs' origin is refused, then both save.
  const appUrl = new URL(await admin.getAttribute('#app-form', 'action'), admin.url()).href;
  await admin.fill('#app-frontchannel-logout-uri', 'https://elsewhere.example/logout');
  await submit(admin, '#save-app');
  const offOrigin = await admin.$('[role=alert]');
  assert(offOrigin && (await offOrigin.textContent()).includes('frontchannelLogoutUri'), 'a front channel on another origin is refused');
  await admin.goto(appUrl);
  await admin.fill('#app-backchannel-logout-uri', 'https://billing.example.com/backchannel');
  await admin.check('#backchannel_logout_session_required');
  await admin.fill('#app-frontchannel-logout-uri', 'https://billing.example.com/frontchannel');
  await submit(admin, '#save-app');
  await noRefusal(admin, 'save logout channels');
  await admin.goto(appUrl);
  assert(await admin.inputValue('#app-backchannel-logout-uri') === 'https://billing.example.com/backchannel', 'the back channel is kept');
  assert(await admin.isChecked('#backchannel_logout_session_required'), 'sid required is kept');
  assert(await admin.inputValue('#app-frontchannel-logout-uri') === 'https://billing.example.com/frontchannel', 'the front channel is kept');
  assert(!(await admin.isChecked('#frontchannel_logout_session_required')), 'an unchecked switch stays off');
  await admin.goto(`${panel}/apps`);
  await admin.fill('#app-name', 'Storefront');
  await admin.selectOption('#app-type', 'spa');
  await admin.fill('#app-redirect-uris', redirectUri);
  await submit(admin, '#create-app');
  await noRefusal(admin, 'create spa app');
  assert((await admin.$('#client-secret')) === null, 'a browser app gets no secret to show');
  const clientId = (await admin.textContent('#client-id')).trim();
  await shoot(admin, 'app-detail');
  await admin.goto(`${panel}/apps`);
  assert((await admin.textContent('#apps')).includes('Storefront'), 'the app is listed');
  await shoot(admin, 'apps');

  // Create the user and give them the role.
  await admin.goto(`${panel}/users`);
  await admin.fill('#new-email', userEmail);
  await admin.fill('#new-first-name', 'Grace');
  await admin.fill('#new-last-name', 'Hopper');
  await admin.fill('#new-password', password);
  await submit(admin, '#create-user');
  await noRefusal(admin, 'create user');
  const userUrl = admin.url().split('?')[0];
  await admin.check(`#role-${role}`);
  await submit(admin, '#save-roles');
  await noRefusal(admin, 'assign role');
  assert(await admin.isChecked(`#role-${role}`), 'the role is held after saving');
  assert((await admin.textContent('#notice')).trim().length > 0, 'saved notice');

  // Search finds the user on the server side.
  await admin.goto(`${panel}/users`);
  await admin.fill('#search', 'hopper');
  await submit(admin, '#search-submit');
  const rows = await admin.$$eval('#users tbody tr', (trs) => trs.map((tr) => tr.textContent));
  assert(rows.length === 1 && rows[0].includes(userEmail), `search found the user: ${rows}`);
  await shoot(admin, 'users-search');

  // Disable: the user's sign-in is refused.
  await admin.goto(userUrl);
  await submit(admin, '#disable-user');
  await noRefusal(admin, 'disable');
  assert((await admin.$('#enable-user')) !== null, 'the user shows as disabled');
  await shoot(admin, 'user-disabled');
  const user = await (await browser.newContext({ locale: 'en' })).newPage();
  await user.goto(authorizeUrl(clientId));
  await user.waitForSelector('#email', { timeout: 5_000 }).catch(async () => {
    throw new Error(`no sign-in form at ${user.url()}: ${(await user.textContent('body')).slice(0, 400)}`);
  });
  await user.fill('#email', userEmail);
  await user.fill('#password', password);
  await submit(user, '#submit');
  const refusal = await user.$('[role=alert]');
  assert(refusal !== null, `a disabled user's sign-in is refused (at ${user.url()})`);
  await shoot(user, 'user-sign-in-refused');

  // Re-enable: the user signs in to the app (and consents).
  await admin.goto(userUrl);
  await submit(admin, '#enable-user');
  await noRefusal(admin, 'enable');
  const back = await completeSignIn(user, authorizeUrl(clientId), { redirectUri, user: { email: userEmail, password } });
  const code = new URL(back.url).searchParams.get('code');
  const signedIn = await fetch(`${issuer}/oauth2/v1/token`, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: VERIFIER, client_id: clientId }),
  });
  assert(signedIn.status === 200, `the re-enabled user signs in: ${JSON.stringify(await json(signedIn))}`);

  // Impersonate the user in the app: a refresh token, shown once, that the app can use.
  await admin.goto(userUrl);
  await admin.selectOption('#impersonate-app', { label: 'Storefront' });
  await submit(admin, '#impersonate');
  await noRefusal(admin, 'impersonate');
  const refreshToken = (await admin.textContent('#impersonation-token')).trim();
  await shoot(admin, 'user-impersonation');
  const exchanged = await fetch(`${issuer}/oauth2/v1/token`, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: clientId }),
  });
  const tokens = await json(exchanged);
  assert(exchanged.status === 200, `the impersonation token works: ${JSON.stringify(tokens)}`);
  const claims = JSON.parse(Buffer.from(tokens.access_token.split('.')[1], 'base64url'));
  assert(claims.impersonatedBy, `the access token names the impersonator: ${JSON.stringify(claims)}`);
  await admin.goto(userUrl);
  await shoot(admin, 'user-detail');

  // The sign-in log shows the user's sign-in.
  await admin.click('#nav-logs');
  await admin.waitForSelector('#log-tabs');
  assert((await admin.textContent('#log-entries')).includes(userEmail), 'the sign-in log lists the user');
  await shoot(admin, 'logs-sign-in');

  // The audit trail names the admin for each change made above, filtered by action; the
  // user's page shows their history; a malformed date is refused.
  await admin.click('#nav-audit');
  await admin.waitForSelector('#audit-filter');
  await admin.fill('#action', 'role_assigned');
  await submit(admin, '#filter');
  const assigned = await admin.$$eval('#audit-entries tbody tr', (trs) => trs.map((tr) => tr.textContent));
  assert(assigned.length === 1, `one role assignment is recorded: ${assigned}`);
  assert(assigned[0].includes(role) && assigned[0].includes('admin'), `the record names the role and the admin: ${assigned[0]}`);
  await shoot(admin, 'audit-filtered');
  await admin.goto(`${panel}/audit?from=yesterday`);
  assert((await admin.$('[role=alert]')) !== null, 'a malformed date is refused');
  await admin.goto(userUrl);
  const history = await admin.textContent('#history');
  for (const action of ['created', 'role_assigned', 'disabled', 'enabled']) {
    assert(history.includes(action), `the user's history shows ${action}: ${history}`);
  }

  // An organization with its branding, previewed live as it is typed, then saved.
  await admin.goto(`${panel}/orgs`);
  await admin.fill('#org-name', 'Acme');
  await admin.fill('#org-slug', 'acme');
  await submit(admin, '#create-org');
  await noRefusal(admin, 'create org');
  await admin.fill('#primary_button_color', '#dc2626');
  const live = await admin.$eval('#preview-primary', (el) => getComputedStyle(el).backgroundColor);
  assert(live === 'rgb(220, 38, 38)', `the preview follows the typed color (${live})`);
  await admin.fill('#layout_color', '#fef3c7');
  await submit(admin, '#save-org');
  await noRefusal(admin, 'save org');
  assert((await admin.inputValue('#primary_button_color')) === '#dc2626', 'the branding is saved');
  await shoot(admin, 'org-branding');
  await admin.fill('#group-name', 'Engineering');
  await submit(admin, '#create-group');
  await noRefusal(admin, 'create org group');

  // The user joins the organization.
  await admin.goto(userUrl);
  await admin.check('#orgs-form input[type=checkbox]');
  await submit(admin, '#save-orgs');
  await noRefusal(admin, 'join org');
  assert(await admin.isChecked('#orgs-form input[type=checkbox]'), 'the user is a member of the organization');

  // A custom attribute, a banner and a SAML identity provider, so their pages show data.
  await admin.goto(`${panel}/saml`);
  assert((await admin.textContent('#saml-sp')).includes(`${issuer}/saml/sp/v1/acs`), 'the SAML page names the SP ACS URL');
  await admin.fill('#idp-name', 'Corporate IdP');
  await admin.fill('#idp-user-id', 'nameID');
  await admin.fill('#idp-metadata', '<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://idp.example.com"/>');
  await submit(admin, '#create-idp');
  await noRefusal(admin, 'create SAML IdP');
  await admin.goto(`${panel}/attributes`);
  await admin.fill('#attribute-name', 'employee_id');
  await admin.check('input[name=include_in_sign_up_form]');
  await submit(admin, '#create-attribute');
  await noRefusal(admin, 'create attribute');
  await admin.goto(userUrl);
  await admin.fill('#attributes-form input[type=text]', 'E-1042');
  await submit(admin, '#save-attributes');
  await noRefusal(admin, 'set attribute');
  assert((await admin.inputValue('#attributes-form input[type=text]')) === 'E-1042', 'the attribute value is saved');
  await admin.goto(`${panel}/banners`);
  await admin.fill('#banner-text', 'Maintenance on Sunday');
  await submit(admin, '#create-banner');
  await noRefusal(admin, 'create banner');
  assert((await admin.textContent('main')).includes('Storefront'), 'the banner offers the apps');

  // An ePass connect app: its secret is shown once, on the page the creation leads to.
  await admin.goto(`${panel}/connect-apps`);
  await admin.fill('#connect-name', 'forum');
  await admin.fill('#connect-redirect-url', 'https://forum.example.com/auth');
  await admin.fill('#connect-display-name', 'Community Forum');
  await submit(admin, '#create-connect-app');
  await noRefusal(admin, 'create connect app');
  assert((await admin.textContent('#connect-secret')).trim().length === 32, 'the connect app secret is shown once');
  await shoot(admin, 'connect-app-created');

  // Every page of the navigation, with the data made above; then the users list on a phone.
  for (const id of await admin.$$eval('nav.side a', (links) => links.map((a) => a.id))) {
    await admin.click(`#${id}`);
    await admin.waitForSelector('main h1');
    await noRefusal(admin, id);
    await shoot(admin, `page-${id.replace('nav-', '')}`);
  }
  for (const [locale, heading, dir] of [['zh-CN', '用户', 'ltr'], ['ar', 'المستخدمون', 'rtl'], ['he', 'משתמשים', 'rtl'], ['fr', 'Utilisateurs', 'ltr']]) {
    await admin.goto(`${panel}/users`);
    await Promise.all([admin.waitForEvent('load'), admin.click(`footer.locales a[lang="${locale}"]`)]);
    assert((await admin.textContent('main h1')).trim() === heading, `users page in ${locale}`);
    const shown = await admin.evaluate(() => [document.documentElement.dir, getComputedStyle(document.querySelector('main')).direction]);
    assert(shown[0] === dir && shown[1] === dir, `users page in ${locale} laid out ${shown}`);
    await shoot(admin, `users-${locale}`);
  }
  const phone = await (await browser.newContext({ locale: 'en', viewport: { width: 390, height: 844 }, storageState: await admin.context().storageState() })).newPage();
  await phone.goto(`${panel}/users`);
  const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert(overflow <= 1, `no sideways scrolling on a phone (${overflow}px)`);
  await shoot(phone, 'users-phone');
  console.log(`admin panel (${taken.length} screenshots): ok`);
} finally {
  await browser.close();
  await stopApp();
}
