// A person signs up in headless Chromium in one language: sign-in page → sign-up → consent →
// back at the app with code, state and iss; the app then exchanges the code and reads userinfo.
// Env: ISSUER, CLIENT_ID, REDIRECT_URI, EMAIL, PASSWORD, LOCALE, EXPECT_TITLE (the sign-in
// page's heading in that language).
import { assert, authorizeRequest, completeSignIn, json, launch, need, serveApp } from './lib/browser.mjs';

const issuer = need('ISSUER');
const clientId = need('CLIENT_ID');
const redirectUri = need('REDIRECT_URI');
const locale = need('LOCALE');
const user = { email: need('EMAIL'), password: need('PASSWORD'), signUp: true, firstName: 'Ada', lastName: '李' };

const { url: authorize, verifier, state, nonce } = authorizeRequest(issuer, clientId, redirectUri, { locale });

const stopApp = await serveApp(new URL(redirectUri).origin);
const browser = await launch();
try {
  const context = await browser.newContext({ locale });
  const page = await context.newPage();
  await page.goto(authorize.href);
  const heading = await page.textContent('h1');
  assert(heading.trim() === need('EXPECT_TITLE'), `sign-in heading "${heading}" in ${locale}`);
  const { url, seen } = await completeSignIn(page, null, {
    redirectUri, user, shots: `browser-${locale}`, expectLang: locale,
  });
  assert(seen.join(',') === 'sign-in,sign-up,consent', `pages seen: ${seen}`);
  const back = new URL(url);
  assert(back.searchParams.get('state') === state, 'state echoed');
  assert(back.searchParams.get('iss') === issuer, 'iss in the response');
  const code = back.searchParams.get('code');
  assert(code && code.length >= 22, 'a code of at least 128 bits');

  const token = await fetch(`${issuer}/oauth2/v1/token`, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: verifier, client_id: clientId }),
  });
  const tokens = await json(token);
  assert(token.status === 200, `token exchange: ${JSON.stringify(tokens)}`);
  for (const field of ['access_token', 'expires_in', 'expires_on', 'not_before', 'token_type', 'scope', 'refresh_token', 'refresh_token_expires_in', 'refresh_token_expires_on', 'id_token']) {
    assert(field in tokens, `token response has ${field}`);
  }
  const claims = JSON.parse(Buffer.from(tokens.id_token.split('.')[1], 'base64url'));
  assert(claims.nonce === nonce && claims.aud === clientId && claims.iss === issuer, 'id token claims');
  assert(claims.email === user.email, 'id token names the user');

  const info = await fetch(`${issuer}/oauth2/v1/userinfo`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
  const profile = await json(info);
  assert(info.status === 200, `userinfo: ${JSON.stringify(profile)}`);
  assert(profile.sub === claims.sub && profile.authId === claims.sub, 'userinfo sub and authId');
  assert(profile.email === user.email && profile.firstName === 'Ada' && profile.lastName === '李', `userinfo fields: ${JSON.stringify(profile)}`);
  assert(profile.locale === locale, `userinfo locale ${profile.locale}`);

  // The same code a second time is refused.
  const replay = await fetch(`${issuer}/oauth2/v1/token`, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: verifier, client_id: clientId }),
  });
  assert(replay.status === 400, `replayed code answered ${replay.status}`);
  console.log(`browser flow in ${locale}: ok`);
} finally {
  await browser.close();
  await stopApp();
}
