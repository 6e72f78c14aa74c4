// Every kind of sign-in page passes axe-core at WCAG 2.2 AA in headless Chromium, and the whole
// password + TOTP sign-in is done with the keyboard alone (Tab, Enter and typing).
// The server runs with TOTP required, recovery codes and passkey enrollment offered, and consent.
// 1. With the mouse: sign-in → sign-up → TOTP setup → recovery codes → passkey offer → consent,
//    then /i, a policy page, the device page, the expired and error pages, the signed-out page;
//    each is audited.
// 2. In a fresh browser, with the keyboard only: sign-in → TOTP code → consent? → back at the app.
// The second-factor, policy, recovery and other account pages: accessibility-account.mjs.
// Env: ISSUER, CLIENT_ID, REDIRECT_URI, EMAIL, PASSWORD.
import { assert, authorizeRequest, launch, need, serveApp } from './lib/browser.mjs';
import { audit, audited } from './lib/a11y.mjs';
import { totp } from './lib/totp.mjs';

const issuer = need('ISSUER');
const clientId = need('CLIENT_ID');
const redirectUri = need('REDIRECT_URI');
const email = need('EMAIL');
const password = need('PASSWORD');

const pageName = (page) => new URL(page.url()).pathname.replace(/^\/identity\/v1\/view\//, '').replace(/^\//, '') || 'root';

async function submit(page, selector) {
  await Promise.all([page.waitForEvent('load', { timeout: 15_000 }), page.click(selector)]);
}

const stopApp = await serveApp(new URL(redirectUri).origin);
const browser = await launch();
let secret = null;
try {
  // 1. Every page of a first sign-in, with the mouse.
  const context = await browser.newContext({ locale: 'en' });
  const page = await context.newPage();
  await page.goto(authorizeRequest(issuer, clientId, redirectUri).url.href);
  const seen = [];
  let signedUp = false;
  for (let step = 0; step < 12 && !page.url().startsWith(redirectUri); step += 1) {
    const name = pageName(page);
    seen.push(name);
    await audit(page, name);
    const refusal = await page.$('[role=alert]:not([hidden])');
    if (refusal) throw new Error(`${page.url()} refused: ${await refusal.textContent()}`);
    if (await page.$('form#sign-in-form')) {
      assert(!signedUp, 'the sign-in page comes once');
      await Promise.all([page.waitForURL(/\/view\/sign-up/), page.click('#sign-up-link')]);
    } else if (await page.$('form#sign-up-form')) {
      await page.fill('#email', email);
      await page.fill('#password', password);
      if (await page.$('#first_name')) await page.fill('#first_name', 'Ada');
      if (await page.$('#last_name')) await page.fill('#last_name', 'Lovelace');
      signedUp = true;
      await submit(page, '#submit');
    } else if (await page.$('form#consent-form')) {
      await submit(page, '#accept');
    } else if (await page.$('#otp-secret')) {
      secret = (await page.textContent('#otp-secret')).trim();
      await page.fill('#code', totp(secret));
      await submit(page, '#submit');
    } else if (await page.$('form#step-form #submit')) {
      await submit(page, '#submit');
    } else {
      throw new Error(`unexpected page ${page.url()}: ${(await page.textContent('body')).slice(0, 400)}`);
    }
  }
  assert(page.url().startsWith(redirectUri), `back at the app after ${seen.join(', ')}: ${page.url()}`);
  for (const expected of ['authorize', 'sign-up', 'otp-setup', 'consent']) {
    assert(seen.includes(expected), `the ${expected} page was shown (seen: ${seen.join(', ')})`);
  }
  assert(secret, 'the TOTP key was shown');

  // Pages outside the sign-in, with the session just made.
  await page.goto(`${issuer}/i`);
  await audit(page, 'i');
  const policy = await page.$('#security a');
  assert(policy, 'the account page links the self-service policies');
  await Promise.all([page.waitForEvent('load'), policy.click()]);
  await page.waitForFunction(() => document.querySelector('main') !== null);
  await audit(page, `policy ${pageName(page)}`);
  await page.goto(`${issuer}/device`);
  await audit(page, 'device');
  await page.goto(`${issuer}/identity/v1/view/auth-code-expired`);
  await audit(page, 'auth-code-expired');
  await page.goto(`${issuer}/oauth2/v1/authorize?client_id=no-such-app&response_type=code`);
  await audit(page, 'authorize error');
  await page.goto(`${issuer}/oauth2/v1/logout`);
  await audit(page, 'signed-out');
  await context.close();

  // The sign-in page on a phone, where the language links wrap.
  const phone = await (await browser.newContext({ locale: 'en', viewport: { width: 390, height: 844 } })).newPage();
  await phone.goto(authorizeRequest(issuer, clientId, redirectUri).url.href);
  await audit(phone, 'authorize (phone)');
  await phone.context().close();

  // 2. The keyboard alone: Tab moves the focus, typing fills it, Enter submits.
  const keyboardContext = await browser.newContext({ locale: 'en' });
  const kb = await keyboardContext.newPage();
  await kb.goto(authorizeRequest(issuer, clientId, redirectUri).url.href);
  const tabTo = async (selector) => {
    for (let presses = 0; presses < 40; presses += 1) {
      if (await kb.evaluate((s) => document.activeElement?.matches(s) ?? false, selector)) return;
      await kb.keyboard.press('Tab');
    }
    throw new Error(`Tab never reached ${selector} on ${kb.url()}`);
  };
  const enter = async () => Promise.all([kb.waitForEvent('load', { timeout: 15_000 }), kb.keyboard.press('Enter')]);
  const keyed = [];
  for (let step = 0; step < 8 && !kb.url().startsWith(redirectUri); step += 1) {
    keyed.push(pageName(kb));
    await audit(kb, `${pageName(kb)} (second sign-in)`);
    if (await kb.$('form#sign-in-form')) {
      await tabTo('#email');
      await kb.keyboard.type(email);
      await tabTo('#password');
      await kb.keyboard.type(password);
      await enter();
    } else if (await kb.$('form#step-form #code')) {
      await tabTo('#code');
      // The code of the next step: the one used at enrollment may not be used twice.
      await kb.keyboard.type(totp(secret, 1));
      await enter();
    } else if (await kb.$('form#consent-form')) {
      await tabTo('#accept');
      await enter();
    } else if (await kb.$('form#step-form #submit')) {
      await tabTo('#submit');
      await enter();
    } else {
      throw new Error(`unexpected page ${kb.url()} in the keyboard sign-in`);
    }
  }
  assert(kb.url().startsWith(redirectUri) && new URL(kb.url()).searchParams.get('code'), `the keyboard sign-in ended at the app with a code (pages: ${keyed.join(', ')}; at ${kb.url()})`);
  assert(keyed[0] === 'authorize' && keyed.includes('otp-mfa'), `the keyboard sign-in asked the password and the TOTP code: ${keyed.join(', ')}`);
  await keyboardContext.close();
} finally {
  await browser.close();
  await stopApp();
}
console.log(`accessibility (${audited.length} pages audited: ${audited.join(', ')}; keyboard sign-in): ok`);
