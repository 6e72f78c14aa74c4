// The admin panel's webhooks pages in headless Chromium: register an endpoint with its events
// (the secret shown once, handed to the test's receiver), an app created in the panel is
// delivered, "send again" from the delivery log, a new secret, a second endpoint that cannot
// send the first one's deliveries, switching an endpoint off. A screenshot of every page lands
// in test-artifacts/ (prefix SHOTS), and each page passes axe-core at WCAG 2.2 AA.
// Env: ISSUER, SETUP_LINK, ADMIN_EMAIL, PASSWORD, RECEIVER_URL, OTHER_URL, RECEIVER_DIR, SHOTS.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ARTIFACTS, assert, completeSignIn, launch, need } from './lib/browser.mjs';
import { audit } from './lib/a11y.mjs';

const issuer = need('ISSUER');
const adminEmail = need('ADMIN_EMAIL');
const password = need('PASSWORD');
const receiverUrl = need('RECEIVER_URL');
const otherUrl = need('OTHER_URL');
const receiverDir = need('RECEIVER_DIR');
const shots = need('SHOTS');
const panel = `${issuer}/admin`;

async function shoot(page, name) {
  await audit(page, name);
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, `${shots}-${name}.png`), fullPage: true });
}

async function submit(page, selector) {
  await Promise.all([page.waitForEvent('load', { timeout: 15_000 }), page.click(selector)]);
}

async function noRefusal(page, what) {
  const alert = await page.$('[role=alert]');
  if (alert) throw new Error(`${what} refused at ${page.url()}: ${await alert.textContent()}`);
}

/** The receiver's records of the panel's endpoint. */
function received() {
  const file = join(receiverDir, 'panel.jsonl');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line));
}

async function until(what, check) {
  for (let i = 0; i < 150; i += 1) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${what}: not within 30 s`);
}

const event = (name) => `[id="event-${name}"]`;

const browser = await launch();
try {
  const admin = await (await browser.newContext({ locale: 'en' })).newPage();
  await admin.goto(need('SETUP_LINK'));
  await admin.fill('#email', adminEmail);
  await admin.fill('#first_name', 'Hook');
  await admin.fill('#last_name', 'Admin');
  await admin.fill('#password', password);
  await submit(admin, '#submit');
  await noRefusal(admin, 'setup');
  await admin.goto(panel);
  await completeSignIn(admin, null, { redirectUri: panel, user: { email: adminEmail, password } });

  await admin.click('#nav-webhooks');
  await admin.waitForSelector('#create-webhook-form');
  assert((await admin.textContent('#webhook-backlog')).includes('0'), 'nothing is waiting');
  assert((await admin.$$('#webhook-events input[type=checkbox]')).length === 26, 'every event type is offered');
  await shoot(admin, 'webhooks-empty');

  // A URL that is not https is refused with the reason.
  await admin.fill('#webhook-url', 'ftp://hooks.example/in');
  await admin.check(event('app.created'));
  await submit(admin, '#create-webhook');
  const refused = await admin.$('[role=alert]');
  assert(refused && (await refused.textContent()).includes('https'), 'an ftp URL is refused');

  // Registered: the secret is shown once; the receiver is given it.
  await admin.goto(`${panel}/webhooks`);
  await admin.fill('#webhook-url', receiverUrl);
  await admin.fill('#webhook-description', 'Billing sync');
  await admin.check(event('app.created'));
  await admin.check(event('app.deleted'));
  await submit(admin, '#create-webhook');
  await noRefusal(admin, 'register the endpoint');
  const secret = (await admin.textContent('#webhook-secret')).trim();
  assert(secret.startsWith('whsec_') && secret.length > 40, 'the secret is shown once');
  writeFileSync(join(receiverDir, 'panel.secrets'), secret);
  assert(await admin.isChecked(event('app.created')) && !(await admin.isChecked(event('user.created'))), 'the events are kept');
  await shoot(admin, 'webhook-created-secret');
  const endpointUrl = new URL(await admin.getAttribute('#webhook-form', 'action'), admin.url()).href;
  await admin.goto(endpointUrl);
  assert((await admin.$('#webhook-secret')) === null, 'the secret is not shown again');

  // An app created in the panel raises app.created; the log shows it delivered.
  await admin.goto(`${panel}/apps`);
  await admin.fill('#app-name', 'Hooked app');
  await admin.selectOption('#app-type', 'web');
  await admin.fill('#app-redirect-uris', 'https://hooked.example/cb');
  await submit(admin, '#create-app');
  await noRefusal(admin, 'create an app');
  await until('the delivery', async () => {
    await admin.goto(endpointUrl);
    return (await admin.$('#webhook-deliveries .badge.on')) !== null;
  });
  assert((await admin.textContent('#webhook-deliveries')).includes('app.created'), 'the log names the event');
  await shoot(admin, 'webhook-deliveries');

  // Send again: the same message reaches the receiver a second time.
  const resend = await admin.$('#webhook-deliveries button[id^=resend-]');
  const deliveryId = (await resend.getAttribute('id')).replace('resend-', '');
  await submit(admin, `#resend-${deliveryId}`);
  await noRefusal(admin, 'send again');
  assert((await admin.$('.notice')) !== null, 'the panel says it is done');
  await shoot(admin, 'webhook-sent-again');
  await until('the message sent again', () => received().filter((r) => r.status === 204).length >= 2);

  // A new secret, shown once.
  await submit(admin, '#new-webhook-secret');
  await noRefusal(admin, 'new secret');
  const rotated = (await admin.textContent('#webhook-secret')).trim();
  assert(rotated.startsWith('whsec_') && rotated !== secret, 'a new secret is shown');
  writeFileSync(join(receiverDir, 'panel.secrets'), rotated);
  await shoot(admin, 'webhook-new-secret');

  // A second endpoint cannot send the first one's delivery, and a post without the CSRF token
  // is refused.
  await admin.goto(`${panel}/webhooks`);
  await admin.fill('#webhook-url', otherUrl);
  await admin.check(event('user.deleted'));
  await submit(admin, '#create-webhook');
  await noRefusal(admin, 'register a second endpoint');
  const otherPath = new URL(await admin.getAttribute('#webhook-form', 'action'), admin.url()).pathname;
  const csrf = await admin.getAttribute('#webhook-form input[name=csrf_token]', 'value');
  // Posted with the panel's cookies (the page's own scripts may not fetch: its CSP says so).
  const post = (form) => admin.request.post(`${issuer}${otherPath}/deliveries/${deliveryId}/resend`, { form, maxRedirects: 0 })
    .then((r) => r.status());
  const statuses = [await post({ csrf_token: csrf }), await post({})];
  assert(statuses[0] === 404, `another endpoint's delivery is not found (${statuses[0]})`);
  assert(statuses[1] === 403, `a post without the CSRF token is refused (${statuses[1]})`);

  // Switched off: the list says so.
  await admin.goto(endpointUrl);
  await admin.uncheck('#webhook-active');
  await admin.fill('#webhook-description', 'Billing sync (paused)');
  await submit(admin, '#save-webhook');
  await noRefusal(admin, 'save the endpoint');
  assert(!(await admin.isChecked('#webhook-active')), 'the endpoint is off');
  await admin.goto(`${panel}/webhooks`);
  assert((await admin.$$('#webhooks .badge.off')).length === 1, 'one endpoint is off');
  assert((await admin.textContent('#webhooks')).includes('Billing sync (paused)'), 'the description is kept');
  await shoot(admin, 'webhooks');
  console.log('admin webhooks: ok');
} finally {
  await browser.close();
}
