// The account lifecycle by email in headless Chromium, reading each message from the test's real
// SMTP receiver (MAIL_DIR). MODE=accounts: sign-up → emailed code → signed in; forgot password →
// code → new password → signed in; invitation link → password → signed in. MODE=magic: the
// emailed magic link, opened in the same browser, signs in.
// Env: ISSUER, CLIENT_ID, REDIRECT_URI, MAIL_DIR, EMAIL, PASSWORD, MODE, INVITED_EMAIL (accounts).
import { createHash, randomBytes } from 'node:crypto';
import { assert, completeSignIn, launch, need, serveApp, waitForMail } from './lib/browser.mjs';
import { audit } from './lib/a11y.mjs';

const issuer = need('ISSUER');
const clientId = need('CLIENT_ID');
const redirectUri = need('REDIRECT_URI');
const email = need('EMAIL');
const password = need('PASSWORD');
const mode = need('MODE');

function authorizeUrl() {
  const verifier = randomBytes(32).toString('base64url');
  const url = new URL(`${issuer}/oauth2/v1/authorize`);
  url.search = new URLSearchParams({
    response_type: 'code', client_id: clientId, redirect_uri: redirectUri, state: randomBytes(8).toString('base64url'),
    scope: 'openid profile offline_access', code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
  }).toString();
  return url.href;
}

async function backAtApp(page, user, shots) {
  const { url, seen } = await completeSignIn(page, null, { redirectUri, user, shots });
  assert(new URL(url).searchParams.get('code'), `a code at ${url}`);
  return seen;
}

async function submitAndWait(page, selector) {
  await Promise.all([page.waitForEvent('load', { timeout: 15_000 }), page.click(selector)]);
}

const stopApp = await serveApp(new URL(redirectUri).origin);
const browser = await launch();
try {
  if (mode === 'accounts') {
    // 1. Sign up: the verification code arrives by email and is typed in.
    let context = await browser.newContext();
    let page = await context.newPage();
    await page.goto(authorizeUrl());
    const seen = await backAtApp(page, {
      email, password, signUp: true,
      stepForm: async (p) => {
        const mail = await waitForMail(email, 'Verify your email address');
        await p.fill('#code', mail.code());
        return 'verify-email';
      },
    }, 'email-verify');
    assert(seen.join(',') === 'sign-in,sign-up,verify-email,consent', `pages seen: ${seen}`);
    await context.close();

    // 2. Forgot password: a code by email, a new password, then signing in with it.
    context = await browser.newContext();
    page = await context.newPage();
    await page.goto(authorizeUrl());
    await Promise.all([page.waitForURL(/reset-password/), page.click('#forgot-password-link')]);
    await audit(page, 'reset-password');
    await page.fill('#email', email);
    await submitAndWait(page, '#submit');
    const reset = await waitForMail(email, 'Reset your password');
    const newPassword = `${password}-2`;
    await page.fill('#code', reset.code());
    await page.fill('#password', newPassword);
    await submitAndWait(page, '#submit');
    const notice = await page.textContent('[role=status]');
    assert(notice.includes('password was changed'), `notice after reset: ${notice}`);
    await backAtApp(page, { email, password: newPassword }, 'email-reset');
    await context.close();

    // 3. Invitation: the emailed link, a password, then signing in.
    const invited = need('INVITED_EMAIL');
    context = await browser.newContext();
    page = await context.newPage();
    const invitation = await waitForMail(invited, 'You are invited');
    await page.goto(invitation.link(`${issuer}/identity/v1/view/accept-invitation`));
    await audit(page, 'accept-invitation');
    await page.fill('#password', password);
    await submitAndWait(page, '#submit');
    const done = await page.textContent('main');
    assert(done.includes('Your account is ready'), `after accepting: ${done}`);
    await page.goto(authorizeUrl());
    await backAtApp(page, { email: invited, password }, 'email-invitation');
    await context.close();
  } else if (mode === 'magic') {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(authorizeUrl());
    assert(!(await page.$('#password')), 'passwordless sign-in asks no password');
    await page.fill('#email', email);
    await submitAndWait(page, '#submit');
    const waiting = await page.textContent('main');
    assert(waiting.includes('sign-in link'), `waiting page: ${waiting}`);
    const mail = await waitForMail(email, 'Your sign-in link');
    await page.goto(mail.link(`${issuer}/identity/v1/view/magic-link`));
    await backAtApp(page, { email }, 'email-magic-link');
    await context.close();
  } else {
    throw new Error(`unknown MODE ${mode}`);
  }
  console.log(`email-flows ${mode}: ok`);
} finally {
  await browser.close();
  await stopApp();
}
