// Passkeys in headless Chromium with DevTools virtual authenticators: enroll one after
// sign-up, add a second through the manage_passkey policy, sign in with each, delete one, and
// see it refused; the enrollment page, the list of passkeys and the refusal are audited
// (axe-core, WCAG 2.2 AA). Env: ISSUER (on localhost: WebAuthn takes no IP address as RP id),
// CLIENT_ID, REDIRECT_URI, EMAIL, PASSWORD.
import { createHash, randomBytes } from 'node:crypto';
import { assert, launch, need, serveApp } from './lib/browser.mjs';
import { audit } from './lib/a11y.mjs';

const issuer = need('ISSUER');
const clientId = need('CLIENT_ID');
const redirectUri = need('REDIRECT_URI');
const email = need('EMAIL');
const password = need('PASSWORD');

function authorizeUrl(extra = {}) {
  const verifier = randomBytes(32).toString('base64url');
  const url = new URL(`${issuer}/oauth2/v1/authorize`);
  url.search = new URLSearchParams({
    response_type: 'code', client_id: clientId, redirect_uri: redirectUri, state: randomBytes(8).toString('base64url'),
    scope: 'openid profile', code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256', ...extra,
  }).toString();
  return url.href;
}

async function submit(page, selector) {
  await Promise.all([page.waitForEvent('load', { timeout: 15_000 }), page.click(selector)]);
}

async function addAuthenticator(cdp) {
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true,
      isUserVerified: true, automaticPresenceSimulation: true },
  });
  return authenticatorId;
}

/** Clicks the passkey button and waits for the page it leads to. */
async function usePasskey(page) {
  await Promise.all([page.waitForEvent('load', { timeout: 15_000 }), page.click('#passkey-button')]);
}

/**
 * Signs in with whichever passkey the authenticator holds. The sign-in page offers passkeys in
 * the email field's autofill (conditional UI), which the virtual authenticator answers at once;
 * the explicit button is the fallback when the page is still there.
 */
async function signInWithPasskey(page, context) {
  await context.clearCookies();
  await page.goto(authorizeUrl());
  await page.waitForFunction(
    (uri) => window.location.href.startsWith(uri) || document.querySelector('.error:not([hidden])'),
    redirectUri, { timeout: 5_000 },
  ).catch(() => {});
  let viaAutofill = true;
  if (!page.url().startsWith(redirectUri) && !(await page.$('.error:not([hidden])'))) {
    viaAutofill = false;
    await usePasskey(page);
  }
  return { url: page.url(), viaAutofill };
}

const stopApp = await serveApp(new URL(redirectUri).origin);
const browser = await launch();
try {
  const context = await browser.newContext();
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const first = await addAuthenticator(cdp);

  // 1. Sign up, consent, then the passkey enrollment step.
  await page.goto(authorizeUrl());
  await Promise.all([page.waitForURL(/sign-up/), page.click('#sign-up-link')]);
  await page.fill('#email', email);
  await page.fill('#password', password);
  await submit(page, '#submit');
  await submit(page, '#accept');
  assert((await page.textContent('h1')).includes('Sign in faster'), `enrollment page: ${await page.textContent('main')}`);
  await audit(page, 'passkey-enroll');
  await usePasskey(page);
  assert(page.url().startsWith(redirectUri), `back at the app after enrolling: ${page.url()} ${await page.textContent('body')}`);
  const firstCredentials = (await cdp.send('WebAuthn.getCredentials', { authenticatorId: first })).credentials;
  assert(firstCredentials.length === 1 && firstCredentials[0].isResidentCredential, 'a discoverable credential was made');

  // 2. Sign in with it: no email, no password.
  const viaSignInPage = await signInWithPasskey(page, context);
  let url = viaSignInPage.url;
  assert(url.startsWith(redirectUri), `passkey sign-in: ${url} ${await page.textContent('body')}`);
  assert(viaSignInPage.viaAutofill, 'the sign-in page offered the passkey through autofill (conditional UI)');

  // 3. A second passkey, on another authenticator, through the manage_passkey policy.
  await cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId: first });
  const second = await addAuthenticator(cdp);
  await page.goto(authorizeUrl({ policy: 'manage_passkey' }));
  assert((await page.textContent('h1')).includes('Your passkeys'), `manage page: ${await page.textContent('main')}`);
  await usePasskey(page);
  const listed = await page.$$('#passkeys li');
  assert(listed.length === 2, `two passkeys listed, got ${listed.length}`);
  await audit(page, 'manage-passkey (two listed)');
  await submit(page, '#submit');
  assert(page.url().startsWith(redirectUri), `back after managing: ${page.url()}`);

  // 4. Sign in with the second one.
  url = (await signInWithPasskey(page, context)).url;
  assert(url.startsWith(redirectUri), `second passkey sign-in: ${url}`);

  // 5. Delete the first one (the oldest in the list), then it no longer signs in.
  await page.goto(authorizeUrl({ policy: 'manage_passkey', prompt: 'login' }));
  await page.waitForFunction(() => document.querySelector('#passkeys'), null, { timeout: 5_000 }).catch(() => {});
  if (!(await page.$('#passkeys'))) {
    await usePasskey(page);
  }
  const deleteButtons = await page.$$('#passkeys button');
  assert(deleteButtons.length === 2, `delete buttons: ${deleteButtons.length} on ${await page.textContent('main')}`);
  await Promise.all([page.waitForEvent('load'), deleteButtons[0].click()]);
  assert((await page.$$('#passkeys li')).length === 1, 'one passkey left');
  await submit(page, '#submit');

  await cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId: second });
  const again = await addAuthenticator(cdp);
  await cdp.send('WebAuthn.addCredential', { authenticatorId: again, credential: firstCredentials[0] });
  url = (await signInWithPasskey(page, context)).url;
  assert(!url.startsWith(redirectUri), 'the deleted passkey no longer signs in');
  const refusal = await page.textContent('[role=alert]');
  assert(refusal.includes('Invalid passkey request'), `refusal: ${refusal}`);
  await audit(page, 'authorize (passkey refused)');
  console.log('passkeys: ok');
} finally {
  await browser.close();
  await stopApp();
}
