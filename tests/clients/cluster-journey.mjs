// The whole browser journey through a load balancer in front of several instances, in headless
// Chromium with a DevTools virtual authenticator: sign-up → emailed code → TOTP enrollment →
// passkey enrollment → consent → back at the app; code exchange, refresh, userinfo; logout (the
// refresh token is refused after it); then a sign-in with the passkey alone. With PAUSE_DIR, the
// script writes PAUSE_DIR/paused when the emailed code is asked for and waits for PAUSE_DIR/go
// (the test kills an instance meanwhile), so the rest of the journey runs on the survivors.
// Env: ISSUER (the load balancer, on localhost: WebAuthn takes no IP address as RP id),
// CLIENT_ID (an SPA), REDIRECT_URI, MAIL_DIR, EMAIL, PASSWORD, PAUSE_DIR (optional).
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { assert, authorizeRequest, json, launch, need, serveApp, waitForMail } from './lib/browser.mjs';
import { totp } from './lib/totp.mjs';

const issuer = need('ISSUER');
const clientId = need('CLIENT_ID');
const redirectUri = need('REDIRECT_URI');
const email = need('EMAIL');
const password = need('PASSWORD');
const pauseDir = process.env.PAUSE_DIR;

const pageName = (page) => new URL(page.url()).pathname.replace(/^\/identity\/v1\/view\//, '').replace(/^\//, '');

async function submit(page, selector) {
  await Promise.all([page.waitForEvent('load', { timeout: 15_000 }), page.click(selector)]);
}

async function pauseForTheTest() {
  if (!pauseDir) return;
  writeFileSync(join(pauseDir, 'paused'), '');
  for (let i = 0; i < 600 && !existsSync(join(pauseDir, 'go')); i += 1) {
    await new Promise((r) => setTimeout(r, 50));
  }
  assert(existsSync(join(pauseDir, 'go')), 'the test let the journey go on');
}

/** Plays every page until the browser is back at the app; the page names seen, in order. */
async function untilBackAtApp(page, state) {
  const seen = [];
  for (let step = 0; step < 12 && !page.url().startsWith(redirectUri); step += 1) {
    await page.waitForFunction(
      (uri) => window.location.href.startsWith(uri) || document.querySelector('main') !== null,
      redirectUri, { timeout: 15_000 },
    );
    if (page.url().startsWith(redirectUri)) break;
    const name = pageName(page);
    seen.push(name);
    const refusal = await page.$('[role=alert]:not([hidden])');
    if (refusal && (await refusal.textContent()).trim()) throw new Error(`${page.url()} refused: ${await refusal.textContent()}`);
    if (await page.$('form#sign-in-form')) {
      if (!state.signedUp) {
        await Promise.all([page.waitForURL(/\/view\/sign-up/), page.click('#sign-up-link')]);
      } else {
        await page.fill('#email', email);
        await page.fill('#password', password);
        await submit(page, '#submit');
      }
    } else if (await page.$('form#sign-up-form')) {
      await page.fill('#email', email);
      await page.fill('#password', password);
      if (await page.$('#first_name')) await page.fill('#first_name', 'Ada');
      if (await page.$('#last_name')) await page.fill('#last_name', 'Lovelace');
      state.signedUp = true;
      await submit(page, '#submit');
    } else if (await page.$('form#consent-form')) {
      await submit(page, '#accept');
    } else if (await page.$('#otp-secret')) {
      state.secret = (await page.textContent('#otp-secret')).trim();
      await page.fill('#code', totp(state.secret));
      await submit(page, '#submit');
    } else if (name === 'verify-email') {
      await pauseForTheTest();
      const mail = await waitForMail(email, 'Verify your email address');
      await page.fill('#code', mail.code());
      await submit(page, '#submit');
    } else if (name === 'otp-mfa') {
      // The next step's code: the one used at enrollment may not be used twice.
      await page.fill('#code', totp(state.secret, 1));
      await submit(page, '#submit');
    } else if (await page.$('#passkey-button')) {
      await Promise.all([page.waitForEvent('load', { timeout: 15_000 }), page.click('#passkey-button')]);
    } else if (await page.$('form#step-form #submit')) {
      await submit(page, '#submit');
    } else {
      throw new Error(`unexpected page ${page.url()}: ${(await page.textContent('body')).slice(0, 400)}`);
    }
  }
  assert(page.url().startsWith(redirectUri), `back at the app after ${seen.join(', ')}: ${page.url()}`);
  return seen;
}

async function token(form) {
  const response = await fetch(`${issuer}/oauth2/v1/token`, { method: 'POST', body: new URLSearchParams({ client_id: clientId, ...form }) });
  return { status: response.status, body: await json(response) };
}

const stopApp = await serveApp(new URL(redirectUri).origin);
const browser = await launch();
try {
  const context = await browser.newContext({ locale: 'en' });
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true,
      isUserVerified: true, automaticPresenceSimulation: true },
  });

  // 1. Sign-up, the emailed code, TOTP and passkey enrollment, consent.
  const first = authorizeRequest(issuer, clientId, redirectUri);
  await page.goto(first.url.href);
  const state = { signedUp: false, secret: null };
  const seen = await untilBackAtApp(page, state);
  for (const expected of ['sign-up', 'verify-email', 'otp-setup', 'passkey-enroll', 'consent']) {
    assert(seen.includes(expected), `the ${expected} page was shown (seen: ${seen.join(', ')})`);
  }
  const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
  assert(credentials.length === 1, 'a passkey was made');
  const back = new URL(page.url());
  assert(back.searchParams.get('state') === first.state && back.searchParams.get('iss') === issuer, `the callback: ${back}`);

  // 2. Token, refresh, userinfo.
  const code = back.searchParams.get('code');
  const exchanged = await token({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: first.verifier });
  assert(exchanged.status === 200, `code exchange: ${JSON.stringify(exchanged.body)}`);
  const claims = JSON.parse(Buffer.from(exchanged.body.id_token.split('.')[1], 'base64url'));
  assert(claims.iss === issuer && claims.email === email && claims.nonce === first.nonce, `id token claims: ${JSON.stringify(claims)}`);
  const refreshed = await token({ grant_type: 'refresh_token', refresh_token: exchanged.body.refresh_token });
  assert(refreshed.status === 200 && refreshed.body.access_token, `refresh: ${JSON.stringify(refreshed.body)}`);
  const refreshToken = refreshed.body.refresh_token || exchanged.body.refresh_token;
  for (const accessToken of [exchanged.body.access_token, refreshed.body.access_token]) {
    const info = await fetch(`${issuer}/oauth2/v1/userinfo`, { headers: { authorization: `Bearer ${accessToken}` } });
    const profile = await json(info);
    assert(info.status === 200 && profile.sub === claims.sub && profile.email === email, `userinfo: ${JSON.stringify(profile)}`);
  }

  // 3. Logout (Melody's way: the app posts it, then sends the browser to the end-session URL).
  const loggedOut = await fetch(`${issuer}/identity/v1/logout`, {
    method: 'POST',
    headers: { authorization: `Bearer ${refreshed.body.access_token}` },
    body: new URLSearchParams({ refresh_token: refreshToken, post_logout_redirect_uri: redirectUri }),
  });
  const logoutAnswer = await json(loggedOut);
  assert(loggedOut.status === 200 && logoutAnswer.redirectUri, `logout: ${JSON.stringify(logoutAnswer)}`);
  await page.goto(logoutAnswer.redirectUri);
  await page.waitForURL((url) => url.href.startsWith(redirectUri), { timeout: 15_000 });
  const afterLogout = await token({ grant_type: 'refresh_token', refresh_token: refreshToken });
  assert(afterLogout.status === 400, `the refresh token after logout answered ${afterLogout.status}`);

  // 4. A sign-in with the passkey alone (the sign-in page offers it through autofill).
  const second = authorizeRequest(issuer, clientId, redirectUri);
  await page.goto(second.url.href);
  await page.waitForFunction(
    (uri) => window.location.href.startsWith(uri) || document.querySelector('.error:not([hidden])'),
    redirectUri, { timeout: 5_000 },
  ).catch(() => {});
  if (!page.url().startsWith(redirectUri)) {
    await Promise.all([page.waitForEvent('load', { timeout: 15_000 }), page.click('#passkey-button')]);
  }
  const afterPasskey = page.url().startsWith(redirectUri) ? [] : await untilBackAtApp(page, state);
  assert(!afterPasskey.some((n) => n.includes('authorize')), `the passkey sign-in asked for the password: ${afterPasskey}`);
  const passkeyCode = new URL(page.url()).searchParams.get('code');
  const passkeyTokens = await token({ grant_type: 'authorization_code', code: passkeyCode, redirect_uri: redirectUri, code_verifier: second.verifier });
  assert(passkeyTokens.status === 200, `passkey code exchange: ${JSON.stringify(passkeyTokens.body)}`);
  const passkeyClaims = JSON.parse(Buffer.from(passkeyTokens.body.id_token.split('.')[1], 'base64url'));
  assert(passkeyClaims.sub === claims.sub, 'the passkey signed the same user in');
  console.log(`cluster journey (${seen.join(' → ')}; passkey sign-in${afterPasskey.length ? ` via ${afterPasskey.join(', ')}` : ''}): ok`);
} finally {
  await browser.close();
  await stopApp();
}
