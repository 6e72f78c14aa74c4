// The sign-in page speaks the browser's language, in headless Chromium: Arabic and Hebrew are
// laid out right to left, German left to right; a language picked with the page's links is
// remembered for the next sign-in. Screenshots land in test-artifacts/ (sign-in-<lang>.png).
// Env: ISSUER, CLIENT_ID, REDIRECT_URI.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ARTIFACTS, assert, authorizeRequest, launch, need } from './lib/browser.mjs';

const issuer = need('ISSUER');
const clientId = need('CLIENT_ID');
const redirectUri = need('REDIRECT_URI');

const cases = [
  { browserLocale: 'ar', lang: 'ar', dir: 'rtl', button: 'تسجيل الدخول' },
  { browserLocale: 'he', lang: 'he', dir: 'rtl', button: 'כניסה' },
  { browserLocale: 'de-DE', lang: 'de', dir: 'ltr', button: 'Anmelden' },
];

mkdirSync(ARTIFACTS, { recursive: true });
const browser = await launch();
try {
  for (const { browserLocale, lang, dir, button } of cases) {
    const context = await browser.newContext({ locale: browserLocale, viewport: { width: 900, height: 900 } });
    const page = await context.newPage();
    await page.goto(authorizeRequest(issuer, clientId, redirectUri).url.href);
    const shown = await page.evaluate(() => {
      const html = document.documentElement;
      const form = document.querySelector('form');
      const submit = document.querySelector('#submit');
      const box = submit.getBoundingClientRect();
      return {
        lang: html.lang,
        dir: html.dir,
        direction: getComputedStyle(form).direction,
        label: submit.textContent.trim(),
        // In a right-to-left page the email field's label starts at the right edge.
        labelAlign: getComputedStyle(document.querySelector('label')).direction,
        width: box.width,
      };
    });
    assert(shown.lang === lang, `${browserLocale}: page language ${shown.lang}`);
    assert(shown.dir === dir && shown.direction === dir && shown.labelAlign === dir, `${browserLocale}: direction ${JSON.stringify(shown)}`);
    assert(shown.label === button, `${browserLocale}: submit button says ${shown.label}`);
    await page.screenshot({ path: join(ARTIFACTS, `sign-in-${lang}.png`), fullPage: true });

    if (lang === 'ar') {
      // The user picks Korean with the page's language link; the next sign-in starts in it
      // although the browser still asks for Arabic.
      await Promise.all([page.waitForURL(/locale=ko/), page.locator('nav.locales a[lang="ko"]').click()]);
      assert(await page.evaluate(() => document.documentElement.lang) === 'ko', 'the picked language is shown');
      const again = await context.newPage();
      await again.goto(authorizeRequest(issuer, clientId, redirectUri).url.href);
      const next = await again.evaluate(() => [document.documentElement.lang, document.documentElement.dir]);
      assert(next[0] === 'ko' && next[1] === 'ltr', `the next sign-in: ${next}`);
      // The app's own choice still comes first.
      await again.goto(authorizeRequest(issuer, clientId, redirectUri, { ui_locales: 'he' }).url.href);
      assert(await again.evaluate(() => document.documentElement.dir) === 'rtl', 'ui_locales wins over the picked language');
    }
    await context.close();
  }
} finally {
  await browser.close();
}
console.log('languages: ok');
