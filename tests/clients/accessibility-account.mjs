// The second-factor and account pages pass axe-core at WCAG 2.2 AA in headless Chromium, each
// as first shown and, where a form can refuse, with its refusal. MODE picks the server's set-up:
// - mfa: one factor of TOTP, email or SMS to enroll (SMS through a local server speaking Twilio's
//   Messages API at TWILIO_URL), email verification, recovery codes, passkey offers,
//   remember-device, organizations, and every policy asking the current password again. Three
//   people sign up, one per factor (the TOTP one on a phone's screen); two sign in again and
//   take the email backup; one opens each self-service policy from /i and the others by the
//   authorize request; signed out, one uses the recovery-code and forgot-password pages;
//   INVITED_EMAIL accepts an invitation (to an organization) and opens change_org.
// - passwordless: the emailed sign-in code; magic-link: the emailed sign-in link.
// - link: EMAIL has a password account here and, verified, at UPSTREAM (another Gatehouse, the
//   OpenID Connect provider PROVIDER); signing in there asks this account's password to link.
// Env: ISSUER, CLIENT_ID, REDIRECT_URI, PASSWORD, MODE; MAIL_DIR (but link); TWILIO_URL,
// INVITED_EMAIL (mfa); UPSTREAM, PROVIDER, EMAIL (link).
import { createServer } from 'node:http';
import { assert, authorizeRequest, launch, need, serveApp, waitForMail } from './lib/browser.mjs';
import { audit, audited } from './lib/a11y.mjs';
import { totp } from './lib/totp.mjs';

const issuer = need('ISSUER');
const clientId = need('CLIENT_ID');
const redirectUri = need('REDIRECT_URI');
const password = need('PASSWORD');
const mode = need('MODE');

const pageName = (page) => new URL(page.url()).pathname.replace(/^\/identity\/v1\/view\//, '').replace(/^\//, '') || 'root';

async function submit(page, selector = '#submit') {
  await Promise.all([page.waitForEvent('load', { timeout: 15_000 }), page.click(selector)]);
}

/** Audits the page after a submission that must be refused, checking that it was. */
async function auditRefusal(page, name) {
  const refusal = await page.$('[role=alert]:not([hidden])');
  assert(refusal, `${name}: the page shows a refusal (${page.url()}: ${(await page.textContent('main')).slice(0, 300)})`);
  await audit(page, `${name} (refused)`);
}

/** The messages each address was sent, read in order: the next one of `subject` to `to`. */
const mailsRead = new Map();
async function nextMail(to, subject) {
  const key = `${to}\n${subject}`;
  const nth = (mailsRead.get(key) || 0) + 1;
  mailsRead.set(key, nth);
  return waitForMail(to, subject, nth);
}

/** The SMS the Twilio stand-in received, as Twilio's form fields (To, From, Body). */
const texted = [];
let textsRead = 0;
async function nextTextedCode() {
  for (let i = 0; i < 150 && texted.length <= textsRead; i += 1) await new Promise((r) => setTimeout(r, 100));
  assert(texted.length > textsRead, `SMS #${textsRead + 1} arrived`);
  const { To, Body } = texted[textsRead];
  textsRead += 1;
  assert(To === '+14155550123', `the code went to the number entered: ${To}`);
  return Body.split(' ').pop();
}

async function serveTwilio(url) {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => { body += chunk; });
    req.on('end', () => {
      const account = /^\/2010-04-01\/Accounts\/([^/]+)\/Messages\.json$/.exec(req.url)?.[1];
      if (req.method !== 'POST' || !account) {
        res.writeHead(404);
        res.end();
        return;
      }
      texted.push(Object.fromEntries(new URLSearchParams(body)));
      res.writeHead(201, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ sid: `SM${texted.length}`, account_sid: account, status: 'queued' }));
    });
  });
  const { port, hostname } = new URL(url);
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(port), hostname, resolve);
  });
  return () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); });
}

/**
 * What each page of a sign-in does for `user` ({email, factor}, and what the walk learns and
 * asks: `new` signs up, `backup` takes the email code instead of the factor); the code forms
 * are also audited with their refusal.
 */
const steps = {
  async authorize(page, user) {
    if (user.new) {
      user.new = false;
      await Promise.all([page.waitForURL(/\/view\/sign-up/), page.click('#sign-up-link')]);
      return;
    }
    await page.fill('#email', user.email);
    await page.fill('#password', password);
    await submit(page);
  },
  async 'sign-up'(page, user) {
    await page.fill('#email', user.email);
    await page.fill('#password', password);
    if (await page.$('#first_name')) await page.fill('#first_name', 'Ada');
    if (await page.$('#last_name')) await page.fill('#last_name', 'Lovelace');
    await submit(page);
  },
  async 'verify-email'(page, user) {
    await page.fill('#code', (await nextMail(user.email, 'Verify your email address')).code());
    await submit(page);
  },
  async 'mfa-enroll'(page, user) {
    const offered = await page.$$eval('input[name=type]', (inputs) => inputs.map((i) => i.value));
    assert(offered.join(',') === 'otp,email,sms', `the three factors are offered: ${offered}`);
    // The radio group is named by the question it answers.
    assert(await page.getByRole('group', { name: /^Choose how you will confirm/ }).count() === 1, 'the factor group is named');
    await page.check(`input[name=type][value=${user.factor}]`);
    await submit(page);
  },
  async 'otp-setup'(page, user) {
    assert(await page.getByRole('img', { name: 'QR code for your authenticator app' }).count() === 1, 'the QR code is named');
    user.secret = (await page.textContent('#otp-secret')).trim();
    await page.fill('#code', totp(user.secret));
    await submit(page);
  },
  async 'otp-mfa'(page, user) {
    if (user.backup) {
      await Promise.all([page.waitForURL(/\/view\/email-mfa/), page.click('#alt-link')]);
      return;
    }
    await page.fill('#code', totp(user.secret, 1));
    await submit(page);
  },
  async 'sms-mfa'(page, user) {
    if (await page.$('#phone_number')) {
      await page.fill('#phone_number', '12');
      await submit(page);
      await auditRefusal(page, 'sms-mfa phone');
      await page.fill('#phone_number', '(415) 555-0123');
      await submit(page);
      return;
    }
    if (user.backup) {
      // The verified number was texted on arrival; the email stands in this time.
      await nextTextedCode();
      await Promise.all([page.waitForURL(/\/view\/email-mfa/), page.click('#alt-link')]);
      return;
    }
    const code = await nextTextedCode();
    // Right after the setup too, the page says where the code went, not to enter a number.
    const intro = await page.textContent('#step-intro');
    assert(intro.startsWith('We sent a 6-digit code by SMS to') && intro.endsWith('0123'), `the code page names the number: ${intro}`);
    await page.fill('#code', code === '000000' ? '111111' : '000000');
    await submit(page);
    await auditRefusal(page, 'sms-mfa code');
    await page.fill('#code', code);
    await submit(page);
  },
  async 'email-mfa'(page, user) {
    const subject = 'Your sign-in code';
    if (!user.backup) {
      // A second code on request; the first is then spent.
      await nextMail(user.email, subject);
      await submit(page, '#resend');
      await audit(page, 'email-mfa (code sent again)');
      const code = (await nextMail(user.email, subject)).code();
      await page.fill('#code', code === '000000' ? '111111' : '000000');
      await submit(page);
      await auditRefusal(page, 'email-mfa');
      await page.fill('#code', code);
    } else {
      await page.fill('#code', (await nextMail(user.email, subject)).code());
    }
    await page.check('#remember');
    await submit(page);
  },
  async 'recovery-code-enroll'(page) {
    assert((await page.$$('#recovery-codes li')).length === 10, 'ten recovery codes are shown');
    await submit(page);
  },
  async 'passkey-enroll'(page) {
    await submit(page);
  },
  async consent(page) {
    await submit(page, '#accept');
  },
  async 'confirm-identity'(page, user) {
    if (!user.confirmedOnce) {
      // Once only: wrong passwords count toward the account's lockout.
      user.confirmedOnce = true;
      await page.fill('#password', `${password}-wrong`);
      await submit(page);
      await auditRefusal(page, 'confirm-identity');
    }
    await page.fill('#password', password);
    await submit(page);
  },
};

/**
 * Walks `page` through the pages Gatehouse shows `user`, auditing each, until back at the app
 * or, with `stopAt`, at that page (audited, left as it is). Returns the pages seen.
 */
async function walk(page, user, label, stopAt) {
  const seen = [];
  for (let step = 0; step < 20; step += 1) {
    if (page.url().startsWith(redirectUri)) {
      assert(!stopAt, `${label}: the ${stopAt} page was shown (seen: ${seen.join(', ')})`);
      return seen;
    }
    const name = pageName(page);
    seen.push(name);
    await audit(page, `${name} (${label})`);
    if (name === stopAt) return seen;
    const refusal = await page.$('[role=alert]:not([hidden])');
    if (refusal) throw new Error(`${page.url()} refused: ${await refusal.textContent()}`);
    const handle = steps[name];
    if (!handle) throw new Error(`unexpected page ${page.url()}: ${(await page.textContent('body')).slice(0, 400)}`);
    await handle(page, user);
  }
  throw new Error(`${label}: still not done after ${seen.join(', ')}: at ${page.url()}`);
}

/**
 * A first sign-in (a sign-up) of `user` in its own browser context, on a phone's screen with
 * `phone`; returns the page.
 */
async function signUp(browser, user, phone = false) {
  const viewport = phone ? { viewport: { width: 390, height: 844 } } : {};
  const page = await (await browser.newContext({ locale: 'en', ...viewport })).newPage();
  await page.goto(authorizeRequest(issuer, clientId, redirectUri).url.href);
  user.new = true;
  const seen = await walk(page, user, `${user.factor} sign-up${phone ? ', phone' : ''}`);
  assert(seen.includes('mfa-enroll') && seen.includes('verify-email'), `${user.factor}: enrolled after verifying (seen: ${seen.join(', ')})`);
  return page;
}

/** A sign-in of `user` in a fresh context that takes the email code instead of the factor. */
async function signInWithEmailBackup(browser, user) {
  const page = await (await browser.newContext({ locale: 'en' })).newPage();
  await page.goto(authorizeRequest(issuer, clientId, redirectUri).url.href);
  user.backup = true;
  const seen = await walk(page, user, `${user.factor} sign-in`);
  user.backup = false;
  const factorPage = `${user.factor}-mfa`;
  assert(seen.slice(0, 3).join(',') === `authorize,${factorPage},email-mfa`, `${user.factor}: the code page, then the email backup (seen: ${seen.join(', ')})`);
  return page;
}

/** Opens each self-service policy of /i in the signed-in `page` and audits its form. */
async function everyPolicyFromTheAccountPage(page, user) {
  await page.goto(`${issuer}/i`);
  await audit(page, 'i (sms user)');
  const links = await page.$$eval('#security a', (as) => as.map((a) => [a.id.replace(/^policy-/, ''), a.href]));
  const names = links.map(([policy]) => policy);
  for (const policy of ['change_password', 'change_email', 'manage_passkey', 'manage_recovery_code', 'reset_mfa']) {
    assert(names.includes(policy), `/i offers ${policy} (offers: ${names.join(', ')})`);
  }
  for (const [policy, href] of links) {
    const target = policy.replaceAll('_', '-');
    await page.goto(href);
    const seen = await walk(page, user, `policy ${policy}`, target);
    // Every one of them changes how the account proves itself: the password is asked again.
    assert(seen.includes('confirm-identity'), `${policy}: the password was asked again (seen: ${seen.join(', ')})`);
    if (policy === 'change_password') {
      await page.fill('#password', password);
      await submit(page);
      await auditRefusal(page, 'change-password');
    } else if (policy === 'change_email') {
      await page.fill('#email', `new.${user.email}`);
      await submit(page);
      assert(await page.$('#code'), `the change-email code form: ${(await page.textContent('main')).slice(0, 300)}`);
      await audit(page, 'change-email (code sent)');
      const code = (await nextMail(`new.${user.email}`, 'Confirm your new email address')).code();
      await page.fill('#code', code === '000000' ? '111111' : '000000');
      await submit(page);
      await auditRefusal(page, 'change-email code');
    }
  }
  // The policies only an authorize request opens.
  for (const policy of ['update_info', 'change_org']) {
    await page.goto(authorizeRequest(issuer, clientId, redirectUri, { policy }).url.href);
    await walk(page, user, `policy ${policy}`, policy.replaceAll('_', '-'));
  }
}

/** The pages of someone not signed in: a recovery code, a forgotten password, an invitation. */
async function pagesWithoutASession(browser, user) {
  const context = await browser.newContext({ locale: 'en' });
  const page = await context.newPage();
  await page.goto(authorizeRequest(issuer, clientId, redirectUri).url.href);
  await Promise.all([page.waitForURL(/\/view\/recovery-code/), page.click('#recovery-code-link')]);
  await audit(page, 'recovery-code');
  await page.fill('#email', user.email);
  await page.fill('#recovery_code', 'AAAA-BBBB-CCCC-DDDD');
  await submit(page);
  await auditRefusal(page, 'recovery-code');

  await page.goto(authorizeRequest(issuer, clientId, redirectUri).url.href);
  await Promise.all([page.waitForURL(/\/view\/reset-password/), page.click('#forgot-password-link')]);
  await audit(page, 'reset-password');
  await page.fill('#email', user.email);
  await submit(page);
  assert(await page.$('#code'), `the reset code form: ${(await page.textContent('main')).slice(0, 300)}`);
  await audit(page, 'reset-password (code sent)');
  const code = (await nextMail(user.email, 'Reset your password')).code();
  await page.fill('#code', code === '000000' ? '111111' : '000000');
  await page.fill('#password', `${password}-new`);
  await submit(page);
  await auditRefusal(page, 'reset-password code');

  const invited = need('INVITED_EMAIL');
  const invitation = await nextMail(invited, 'You are invited');
  await page.goto(invitation.link(`${issuer}/identity/v1/view/accept-invitation`));
  await audit(page, 'accept-invitation');
  await page.fill('#password', password);
  await submit(page);
  assert((await page.textContent('main')).includes('Your account is ready'), `after accepting: ${await page.textContent('main')}`);
  await audit(page, 'accept-invitation (done)');
  // The invitation made them a member of an organization: the change_org page lists it.
  await page.goto(authorizeRequest(issuer, clientId, redirectUri, { policy: 'change_org' }).url.href);
  await walk(page, { email: invited, factor: 'otp' }, 'invited', 'change-org');
  assert(await page.getByRole('group', { name: 'Choose your organization' }).getByRole('radio').count() === 1, 'the organization is listed in a named group');
  await context.close();
}

/** The passwordless sign-in: an emailed code, or (magic) an emailed link. */
async function passwordless(browser, magic) {
  const email = `${mode}.a11y@example.com`;
  const page = await (await browser.newContext({ locale: 'en' })).newPage();
  await page.goto(authorizeRequest(issuer, clientId, redirectUri).url.href);
  assert(!(await page.$('#password')), 'the passwordless sign-in asks no password');
  await audit(page, `authorize (${mode})`);
  await page.fill('#email', email);
  await submit(page);
  assert(pageName(page) === 'passwordless', `the passwordless page follows: ${page.url()}`);
  await audit(page, `passwordless (${mode})`);
  if (magic) {
    await submit(page);
    await audit(page, 'passwordless (link sent again)');
    await nextMail(email, 'Your sign-in link');
    const link = (await nextMail(email, 'Your sign-in link')).link(`${issuer}/identity/v1/view/magic-link`);
    // A link whose code is wrong shows the page again, refused.
    const wrong = new URL(link);
    wrong.searchParams.set('otp', '000000');
    await page.goto(wrong.href);
    await auditRefusal(page, 'magic-link');
    await page.goto(link);
  } else {
    await nextMail(email, 'Your sign-in code');
    await submit(page, '#resend');
    await audit(page, 'passwordless (code sent again)');
    const code = (await nextMail(email, 'Your sign-in code')).code();
    await page.fill('#code', code === '000000' ? '111111' : '000000');
    await submit(page);
    await auditRefusal(page, 'passwordless');
    await page.fill('#code', code);
    await submit(page);
  }
  await walk(page, { email }, mode);
}

/** A provider sign-in whose verified email is a password account's: the link page. */
async function linkAccount(browser) {
  const user = { email: need('EMAIL') };
  const upstream = need('UPSTREAM');
  const page = await (await browser.newContext({ locale: 'en' })).newPage();
  await page.goto(authorizeRequest(issuer, clientId, redirectUri).url.href);
  await Promise.all([page.waitForURL((url) => url.href.startsWith(upstream)), page.click(`#oidc-${need('PROVIDER')}`)]);
  await walk(page, user, 'upstream', 'link-account');
  assert(page.url().startsWith(issuer), `the link page is this server's: ${page.url()}`);
  await page.fill('#password', `${password}-wrong`);
  await submit(page);
  await auditRefusal(page, 'link-account');
  await page.fill('#password', password);
  await submit(page);
  await walk(page, user, 'linked');
}

const stopApp = await serveApp(new URL(redirectUri).origin);
const stopTwilio = mode === 'mfa' ? await serveTwilio(need('TWILIO_URL')) : async () => {};
const browser = await launch();
try {
  if (mode === 'mfa') {
    const sms = { email: 'sms.a11y@example.com', factor: 'sms' };
    const email = { email: 'email.a11y@example.com', factor: 'email' };
    const otp = { email: 'otp.a11y@example.com', factor: 'otp' };
    await (await signUp(browser, sms)).context().close();
    await (await signUp(browser, email)).context().close();
    await (await signUp(browser, otp, true)).context().close();

    const signedIn = await signInWithEmailBackup(browser, sms);
    await everyPolicyFromTheAccountPage(signedIn, sms);
    await signedIn.context().close();
    await (await signInWithEmailBackup(browser, otp)).context().close();
    await pagesWithoutASession(browser, email);
  } else if (mode === 'passwordless' || mode === 'magic-link') {
    await passwordless(browser, mode === 'magic-link');
  } else if (mode === 'link') {
    await linkAccount(browser);
  } else {
    throw new Error(`unknown MODE ${mode}`);
  }
} finally {
  await browser.close();
  await stopTwilio();
  await stopApp();
}
console.log(`accessibility ${mode} (${audited.length} pages audited: ${audited.join(', ')}): ok`);
