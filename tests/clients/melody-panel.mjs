// Melody Auth's admin panel (built by scripts/melody-panel from a Melody checkout, unchanged)
// against Gatehouse, in headless Chromium: every page the panel has for users, apps, roles,
// scopes, orgs, user attributes and logs, each change checked through the S2S API.
// Env: ISSUER, PANEL, S2S_CLIENT_ID, S2S_CLIENT_SECRET (the panel's own S2S app), ADMIN_EMAIL,
// ADMIN_PASSWORD (a super_admin), MELODY_COMMIT (named in the report).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ARTIFACTS, assert, completeSignIn, json, launch, need } from './lib/browser.mjs';

const issuer = need('ISSUER');
const panel = need('PANEL');
const dashboard = `${panel}/en/dashboard`;
const admin = { email: need('ADMIN_EMAIL'), password: need('ADMIN_PASSWORD') };
const shots = join(ARTIFACTS, 'melody-panel');
mkdirSync(shots, { recursive: true });

// The S2S API, to check what the panel did.
let s2sToken = null;
async function api(method, path, body) {
  if (!s2sToken) {
    const basic = Buffer.from(`${need('S2S_CLIENT_ID')}:${need('S2S_CLIENT_SECRET')}`).toString('base64');
    const res = await fetch(`${issuer}/oauth2/v1/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${basic}` },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'root' }),
    });
    s2sToken = (await json(res)).access_token;
  }
  const res = await fetch(`${issuer}${path}`, {
    method,
    headers: { authorization: `Bearer ${s2sToken}`, 'content-type': 'application/json' },
    body: body && JSON.stringify(body),
  });
  assert(res.ok, `${method} ${path}: ${res.status} ${await res.clone().text()}`);
  return res.status === 204 ? null : json(res);
}

const report = [];
const problems = [];

/** Watches a page for what a person would see as broken. */
function watch(page) {
  page.on('pageerror', (e) => problems.push(`${page.url()}: page error ${e.message}`));
  page.on('response', async (r) => {
    const url = new URL(r.url());
    // The panel's own API routes answer for Gatehouse's S2S API.
    if (url.origin === panel && url.pathname.startsWith('/api/') && r.status() >= 400) {
      problems.push(`${r.request().method()} ${url.pathname} → ${r.status()} ${await r.text().catch(() => '')}`);
    }
  });
}

/** Screenshots the page once it has settled and checks it shows nothing broken. */
async function page_(page, name, expectText) {
  await page.waitForLoadState('networkidle');
  if (expectText) await page.getByText(expectText, { exact: false }).filter({ visible: true }).first().waitFor({ timeout: 15_000 });
  const text = await page.innerText('body');
  for (const broken of ['[object Object]', 'Invalid Date', 'NaN', 'undefined']) {
    const at = text.indexOf(broken);
    assert(at < 0, `${name} shows "${broken}": …${text.slice(Math.max(0, at - 300), at + 100)}…`);
  }
  // The panel shows a refusal from the server in a destructive alert.
  for (const alert of await page.$$('[role=alert].text-destructive')) {
    const message = (await alert.innerText()).trim();
    assert(!message, `${name} shows an error: ${message}`);
  }
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
  report.push(name);
}

/** Opens the panel, whose script sends a signed-out browser to Gatehouse's sign-in page. */
async function openPanelSignIn(page) {
  await Promise.all([
    page.waitForURL((u) => u.href.startsWith(`${issuer}/`), { timeout: 20_000 }),
    page.goto(dashboard),
  ]);
}

/**
 * Fills the section's "new" form with `fill`, saves, lands on the created item's page, then finds
 * it in the section's list: screenshots `<name>-new`, `<name>-edit` and `<section>`.
 */
async function createItem(page, section, name, shown, fill) {
  await page.goto(`${panel}/en/${section}/new`);
  await fill();
  await page_(page, `${name}-new`);
  await save(page);
  await page.waitForURL(new RegExp(`/en/${section}/\\d+$`));
  await page_(page, `${name}-edit`, shown);
  await page.goto(`${panel}/en/${section}`);
  await page_(page, section, shown);
}

/** Clicks Save and waits for the panel's write to Gatehouse to be answered. */
async function save(page) {
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.url().startsWith(`${panel}/api/`) && ['POST', 'PUT'].includes(r.request().method())),
    page.getByTestId('saveButton').click(),
  ]);
  assert(response.ok(), `${response.request().method()} ${response.url()}: ${response.status()} ${await response.text()}`);
  await page.waitForLoadState('networkidle');
}

const browser = await launch();
try {
  // The panel links to a logo on the internet; nothing leaves this machine.
  const local = (url) => ['localhost', '127.0.0.1'].includes(new URL(url).hostname);
  const newContext = async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await context.route((url) => !local(url.href), (route) => route.abort());
    return context;
  };

  // A person who is not a super_admin signs up through the panel and is turned away.
  console.log('a non-admin');
  const outsider = { email: 'grace@example.com', password: 'Grace-Hopper-1906', firstName: 'Grace', lastName: 'Hopper', signUp: true };
  {
    const context = await newContext();
    const page = await context.newPage();
    await openPanelSignIn(page);
    await completeSignIn(page, null, { redirectUri: dashboard, user: outsider, shots: 'melody-panel-outsider' });
    await page.getByText('Only super admin can access this app.').waitFor({ timeout: 20_000 });
    await page.screenshot({ path: join(shots, 'outsider-blocked.png'), fullPage: true });
    report.push('outsider-blocked');
    await context.close();
  }
  const { users: found } = await api('GET', '/api/v1/users?search=grace');
  assert(found.length === 1, `the outsider signed up: ${JSON.stringify(found)}`);
  const grace = found[0];

  // The super_admin signs in through Gatehouse's pages.
  console.log('sign in');
  const context = await newContext();
  const page = await context.newPage();
  watch(page);
  await openPanelSignIn(page);
  await completeSignIn(page, null, { redirectUri: dashboard, user: admin, shots: 'melody-panel-admin' });
  await page_(page, 'dashboard', 'AUTHORIZATION_CODE_EXPIRES_IN');
  for (const link of ['/.well-known/openid-configuration', '/.well-known/jwks.json', '/api/v1/swagger', '/api/v1/embedded-swagger']) {
    const href = `${issuer}${link}`;
    assert(await page.$(`a[href="${href}"]`), `the dashboard links ${href}`);
    const res = await fetch(href);
    assert(res.ok, `${href} answers ${res.status}`);
  }

  // Roles first, so a user can be given one.
  console.log('roles');
  await page.goto(`${panel}/en/roles/new`);
  await page_(page, 'role-new');
  await page.getByTestId('nameInput').fill('support');
  await page.getByTestId('noteInput').fill('Answers customers');
  await save(page);
  await page.waitForURL(/\/en\/roles\/\d+$/);
  await page.getByTestId('noteInput').fill('Answers customers by email');
  await save(page);
  await page_(page, 'role-edit');
  const role = (await api('GET', '/api/v1/roles')).roles.find((r) => r.name === 'support');
  assert(role && role.note === 'Answers customers by email', `the role as the API shows it: ${JSON.stringify(role)}`);
  await page.goto(`${panel}/en/roles`);
  await page_(page, 'roles', 'support');
  // A refusal reads as Gatehouse's message, not as "[object Object]".
  await page.goto(`${panel}/en/roles/new`);
  await page.getByTestId('nameInput').fill('support');
  const [refused] = await Promise.all([
    page.waitForResponse((r) => r.url() === `${panel}/api/v1/roles` && r.request().method() === 'POST'),
    page.getByTestId('saveButton').click(),
  ]);
  assert(refused.status() === 400, `a second role named support: ${refused.status()}`);
  const shown = page.locator('[role=alert].text-destructive');
  await shown.waitFor();
  const message = (await shown.innerText()).trim();
  assert(message === 'A role with this name already exists', `the refusal as shown: ${message}`);
  await page.screenshot({ path: join(shots, 'role-refused.png'), fullPage: true });
  report.push('role-refused');
  problems.splice(0, problems.length, ...problems.filter((p) => !p.startsWith('POST /api/v1/roles → 400')));

  // Users: list, search, open, change roles, disable.
  console.log('users');
  await page.goto(`${panel}/en/users`);
  await page_(page, 'users', 'grace@example.com');
  await page.getByPlaceholder('Search by name or email').fill('grace');
  // One visible row left, Grace's.
  await page.waitForFunction(() => {
    const rows = [...document.querySelectorAll('table tbody tr')].filter((r) => r.offsetParent !== null);
    return rows.length === 1 && rows[0].innerText.includes('grace@example.com');
  }, null, { timeout: 15_000 });
  await page_(page, 'users-search', 'grace@example.com');
  await page.locator(`a[href$="/users/${grace.authId}"]`).filter({ visible: true }).first().click();
  await page.waitForURL(new RegExp(`/users/${grace.authId}$`));
  await page_(page, 'user', 'grace@example.com');
  await page.getByLabel('support').click();
  await page.getByRole('switch').first().click();
  await save(page);
  const updated = (await api('GET', `/api/v1/users/${grace.authId}`)).user;
  assert(updated.roles.includes('support'), `the panel gave the role: ${JSON.stringify(updated)}`);
  assert(updated.isActive === false, `the panel disabled the user: ${JSON.stringify(updated)}`);
  await page.reload();
  await page_(page, 'user-disabled', 'grace@example.com');
  // The admin's own page lists its sessions with their expiry dates.
  const me = (await api('GET', '/api/v1/users?search=admin%40example.com')).users[0];
  await page.goto(`${panel}/en/users/${me.authId}`);
  await page_(page, 'user-self-sessions', 'Admin Panel (SPA)');

  // Apps: create an S2S and an SPA app, edit one.
  console.log('apps');
  await page.goto(`${panel}/en/apps`);
  await page_(page, 'apps', 'Admin Panel (S2S)');
  const createApp = async (name, type, scope, redirectUri) => {
    await page.goto(`${panel}/en/apps/new`);
    await page.getByTestId('nameInput').fill(name);
    await page.getByTestId('typeSelect').click();
    await page.getByTestId(`typeSelect-${type}Option`).click();
    await page.getByTestId('scopeLabel').filter({ hasText: new RegExp(`^${scope}$`) }).click();
    if (redirectUri) await page.getByTestId('redirectUriInput').first().fill(redirectUri);
    await page_(page, `app-new-${type}`);
    await save(page);
    await page.waitForURL(/\/en\/apps\/\d+$/);
    const listed = (await api('GET', '/api/v1/apps')).apps.find((a) => a.name === name);
    assert(listed, `the panel created ${name}`);
    return (await api('GET', `/api/v1/apps/${listed.id}`)).app;
  };
  const s2s = await createApp('Billing service', 's2s', 'read_user');
  assert(s2s && s2s.type === 's2s' && s2s.scopes.includes('read_user'), `the S2S app: ${JSON.stringify(s2s)}`);
  await page_(page, 'app-created-s2s', 'Billing service');
  const spa = await createApp('Storefront', 'spa', 'profile', 'http://localhost:4000/callback');
  assert(spa && spa.type === 'spa' && spa.redirectUris.includes('http://localhost:4000/callback'), `the SPA app: ${JSON.stringify(spa)}`);
  await page.getByTestId('nameInput').fill('Storefront (web)');
  await save(page);
  await page_(page, 'app-edit', 'Storefront (web)');
  assert((await api('GET', `/api/v1/apps/${spa.id}`)).app.name === 'Storefront (web)', 'the panel renamed the app');

  // Scopes, orgs, user attributes: create, open, list.
  console.log('scopes');
  await createItem(page, 'scopes', 'scope', 'read:orders', async () => {
    await page.getByTestId('nameInput').fill('read:orders');
    await page.getByTestId('noteInput').fill('Read orders');
    await page.getByTestId('typeSelect').click();
    await page.getByTestId('typeSelect-s2sOption').click();
  });
  const scope = (await api('GET', '/api/v1/scopes')).scopes.find((s) => s.name === 'read:orders');
  assert(scope && scope.type === 's2s', `the scope: ${JSON.stringify(scope)}`);

  console.log('orgs');
  await createItem(page, 'orgs', 'org', 'acme', async () => {
    await page.getByTestId('nameInput').fill('Acme');
    await page.getByTestId('slugInput').fill('acme');
  });
  const org = (await api('GET', '/api/v1/orgs')).orgs.find((o) => o.slug === 'acme');
  assert(org && org.name === 'Acme', `the org: ${JSON.stringify(org)}`);

  console.log('user attributes');
  await createItem(page, 'user-attributes', 'user-attribute', 'department', async () => {
    await page.getByTestId('nameInput').fill('department');
  });
  const attributes = (await api('GET', '/api/v1/user-attributes')).userAttributes;
  assert(attributes.some((a) => a.name === 'department'), `the attribute: ${JSON.stringify(attributes)}`);

  // Logs: both sign-ins of this run are there, and one opens.
  console.log('logs');
  await page.goto(`${panel}/en/logs`);
  await page_(page, 'logs', 'Sign-in Logs');
  await page.getByTestId('signInRow').first().locator('a').first().click();
  await page.waitForURL(/\/en\/logs\/sign-in\/\d+$/);
  await page_(page, 'log-sign-in');

  // Sign out: the panel sends the browser through Gatehouse's logout and back, where it has to
  // sign in again.
  console.log('sign out');
  await page.goto(dashboard);
  await page.waitForLoadState('networkidle');
  await page.getByText(admin.email).first().click();
  await Promise.all([
    page.waitForURL((u) => u.href.startsWith(`${issuer}/`) && u.pathname.includes('/authorize'), { timeout: 20_000 }),
    page.getByText('Logout').click(),
  ]);
  await page.waitForSelector('form#sign-in-form', { timeout: 20_000 });
  await page.screenshot({ path: join(shots, 'signed-out.png'), fullPage: true });
  report.push('signed-out');

  assert(problems.length === 0, `the panel saw refusals or errors:\n${problems.join('\n')}`);
} finally {
  writeFileSync(join(shots, 'report.txt'), `Melody Auth ${process.env.MELODY_COMMIT || ''}\npages passed:\n${report.map((r) => `- ${r}`).join('\n')}\n${problems.length ? `problems:\n${problems.join('\n')}\n` : ''}`);
  await browser.close();
}
console.log(`melody panel pages: ${report.join(', ')}`);
