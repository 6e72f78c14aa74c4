// Headless Chromium (Debian's /usr/bin/chromium) driven by playwright-core, playing the user on
// Gatehouse's sign-in pages, and a small HTTP server playing the app the user comes from.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { audit } from './a11y.mjs';

export const ARTIFACTS = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'test-artifacts');

export function need(name) {
  const value = process.env[name];
  if (!value) throw new Error(`environment variable ${name} is required`);
  return value;
}

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
  });
}

/**
 * Serves the test app at `appOrigin` (a free loopback port the test picked): `handler(url)` answers
 * each request, or a plain page. Returns a function that stops the server.
 */
export async function serveApp(appOrigin, handler) {
  const { port, hostname } = new URL(appOrigin);
  const server = createServer(async (req, res) => {
    const url = `${appOrigin}${req.url}`;
    const answer = (handler && (await handler(url))) || { body: '<!doctype html><title>app</title><p>back at the app</p>' };
    res.writeHead(200, { 'content-type': `${answer.contentType || 'text/html'}; charset=utf-8` });
    res.end(answer.body);
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(port), hostname, resolve);
  });
  return () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); });
}

/** Audits the page (axe-core, WCAG 2.2 AA) and, with `shots`, takes its screenshot. */
async function shoot(page, shots, name) {
  await audit(page, shots ? `${shots}-${name}` : name);
  if (!shots) return;
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, `${shots}-${name}.png`), fullPage: true });
}

/**
 * Goes through whatever Gatehouse shows (sign-in, sign-up, consent) until the browser lands on
 * `redirectUri`; returns that URL. `user.signUp` creates the account on the way; `shots` is a
 * file-name prefix for a screenshot of each page; `expectLang` checks each page's language.
 */
export async function completeSignIn(page, startUrl, { redirectUri, user, shots, expectLang }) {
  const seen = [];
  if (startUrl) await page.goto(startUrl);
  for (let step = 0; step < 8; step += 1) {
    const back = () => page.url().startsWith(redirectUri);
    // Either back at the app, or a Gatehouse page (they all have a <main>).
    await page.waitForFunction(
      (uri) => window.location.href.startsWith(uri) || document.querySelector('main') !== null,
      redirectUri,
      { timeout: 15_000 },
    ).catch(async () => {
      if (!back()) throw new Error(`no Gatehouse page at ${page.url()} after ${seen.join(', ')}: ${(await page.content()).slice(0, 800)}`);
    });
    if (back()) return { url: page.url(), seen };
    const form = await page.$('form#sign-in-form, form#sign-up-form, form#consent-form, form#step-form');
    const id = form && (await form.getAttribute('id'));
    const refusal = await page.$('[role=alert]');
    if (refusal) throw new Error(`${page.url()} refused the step: ${await refusal.textContent()}`);
    if (expectLang) {
      const lang = await page.getAttribute('html', 'lang');
      if (lang !== expectLang) throw new Error(`page ${page.url()} is in ${lang}, expected ${expectLang}`);
    }
    if (id === 'sign-in-form' && user.signUp && !seen.includes('sign-up')) {
      seen.push('sign-in');
      await shoot(page, shots, 'sign-in');
      await Promise.all([page.waitForURL(/\/view\/sign-up/), page.click('#sign-up-link')]);
      continue;
    }
    const submit = async (selector) => {
      await Promise.all([page.waitForEvent('load', { timeout: 15_000 }), page.click(selector)]);
    };
    if (id === 'sign-in-form') {
      seen.push('sign-in');
      await page.fill('#email', user.email);
      await page.fill('#password', user.password);
      await shoot(page, shots, 'sign-in');
      await submit('#submit');
    } else if (id === 'sign-up-form') {
      seen.push('sign-up');
      await page.fill('#email', user.email);
      await page.fill('#password', user.password);
      if (await page.$('#first_name')) await page.fill('#first_name', user.firstName || 'Ada');
      if (await page.$('#last_name')) await page.fill('#last_name', user.lastName || 'Lovelace');
      await shoot(page, shots, 'sign-up');
      await submit('#submit');
    } else if (id === 'consent-form') {
      seen.push('consent');
      await shoot(page, shots, 'consent');
      await submit('#accept');
    } else if (id === 'step-form' && user.stepForm) {
      // A page that needs something from outside the browser (an emailed code).
      seen.push(await user.stepForm(page));
      await shoot(page, shots, seen[seen.length - 1]);
      await submit('#submit');
    } else {
      throw new Error(`unexpected page at ${page.url()}: ${(await page.textContent('body')).slice(0, 500)}`);
    }
  }
  throw new Error(`still not back at ${redirectUri} after ${seen.join(', ')}: at ${page.url()}`);
}

/**
 * The parameters of a code-flow request with PKCE (S256), state and nonce, as openid-client
 * builds them, with the values the callback is checked against.
 */
export async function codeFlow(client, redirectUri, scope = 'openid profile offline_access') {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const params = {
    redirect_uri: redirectUri,
    scope,
    state,
    nonce,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  };
  return { verifier, state, nonce, params };
}

/**
 * One sign-in in a fresh headless browser, with the app served at `redirectUri`'s origin:
 * `startUrl` through Gatehouse's pages (completeSignIn) and back; returns the callback URL.
 */
export async function signInOnce(startUrl, { redirectUri, user }) {
  const stopApp = await serveApp(new URL(redirectUri).origin);
  const browser = await launch();
  try {
    const page = await (await browser.newContext()).newPage();
    const { url } = await completeSignIn(page, startUrl, { redirectUri, user });
    return url;
  } finally {
    await browser.close();
    await stopApp();
  }
}

/**
 * Plays the user of a device sign-in (RFC 8628) on another device: opens `verificationUri` (the
 * complete one, code filled in), checks the page shows `userCode`, then allows (signing up or in
 * and consenting on the way) or denies. Returns the page's heading at the end.
 */
export async function approveDevice(page, verificationUri, { userCode, user, decision = 'allow', shots }) {
  await page.goto(verificationUri);
  const typed = await page.inputValue('#user_code');
  if (typed !== userCode) throw new Error(`the verification page filled in ${typed}, not ${userCode}`);
  await shoot(page, shots, 'device-code');
  await Promise.all([page.waitForEvent('load'), page.click('#submit')]);
  const shown = await page.$('#user-code');
  if (!shown) throw new Error(`no confirmation at ${page.url()}: ${(await page.textContent('body')).slice(0, 500)}`);
  if ((await shown.textContent()) !== userCode) throw new Error(`the confirmation shows ${await shown.textContent()}`);
  await shoot(page, shots, 'device-confirm');
  if (decision === 'deny') {
    await Promise.all([page.waitForEvent('load'), page.click('#deny')]);
  } else {
    await Promise.all([page.waitForEvent('load'), page.click('#accept')]);
    const back = new URL('/device?', verificationUri).href;
    await completeSignIn(page, null, { redirectUri: back, user, shots });
  }
  await shoot(page, shots, `device-${decision}`);
  return page.textContent('h1');
}

export function assert(condition, message) {
  if (!condition) throw new Error(`assertion failed: ${message}`);
}

export async function json(response) {
  const text = await response.text();
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`expected JSON from ${response.url} (${response.status}): ${text.slice(0, 300)}`);
  }
}

/**
 * Waits (up to 15 s) for the `nth` (1-based) message to `to` with `subject` in the folder the
 * test's SMTP receiver writes to (`MAIL_DIR`); returns `{subject, text, html, code(), link(prefix)}`.
 */
export async function waitForMail(to, subject, nth = 1) {
  const { readdirSync, readFileSync } = await import('node:fs');
  const dir = need('MAIL_DIR');
  for (let i = 0; i < 150; i += 1) {
    const names = readdirSync(dir).filter((n) => n.endsWith('.json')).sort();
    let matched = 0;
    for (const name of names) {
      const mail = JSON.parse(readFileSync(join(dir, name), 'utf8'));
      if (mail.subject === subject && mail.to.some((t) => t.toLowerCase() === to.toLowerCase()) && ++matched === nth) {
        return {
          ...mail,
          code: () => {
            const line = mail.text.split('\n').map((l) => l.trim()).find((l) => /^[0-9]{6}$/.test(l));
            if (!line) throw new Error(`no code in ${mail.text}`);
            return line;
          },
          link: (prefix) => {
            const at = mail.text.indexOf(prefix);
            if (at < 0) throw new Error(`no link ${prefix} in ${mail.text}`);
            return mail.text.slice(at).split(/\s/)[0];
          },
        };
      }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no mail "${subject}" to ${to} arrived`);
}

/**
 * A fresh authorization request to `issuer` with PKCE S256, a random state and nonce, and
 * `extra` parameters; returns the URL and the values the app keeps.
 */
export function authorizeRequest(issuer, clientId, redirectUri, extra = {}) {
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const state = randomBytes(12).toString('base64url');
  const nonce = randomBytes(12).toString('base64url');
  const url = new URL(`${issuer}/oauth2/v1/authorize`);
  url.search = new URLSearchParams({
    response_type: 'code', client_id: clientId, redirect_uri: redirectUri, state, nonce,
    scope: 'openid profile offline_access', code_challenge: challenge, code_challenge_method: 'S256', ...extra,
  }).toString();
  return { url, verifier, state, nonce };
}
