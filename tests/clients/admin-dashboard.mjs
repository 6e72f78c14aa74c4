// The admin dashboard in headless Chromium: signs in to the panel, reads every chart's numbers
// from its data table (the one screen readers get) and checks them against what the test did,
// checks each chart is one image with a title, then audits the dashboard and the configuration
// page with axe-core (WCAG 2.2 AA) and screenshots both, and the dashboard in Arabic, into
// test-artifacts/ (prefix SHOTS).
// Env: ISSUER, ADMIN_EMAIL, PASSWORD, SHOTS, EXPECTED (JSON: {days, tables: {tableId: {rowHeading:
// [cells]}}, figures: {elementId: text}}; rows of a daily chart not listed must be all zeros).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ARTIFACTS, assert, completeSignIn, launch, need } from './lib/browser.mjs';
import { audit } from './lib/a11y.mjs';

const issuer = need('ISSUER');
const adminEmail = need('ADMIN_EMAIL');
const password = need('PASSWORD');
const shots = need('SHOTS');
const expected = JSON.parse(need('EXPECTED'));
const panel = `${issuer}/admin`;

async function shoot(page, name) {
  await audit(page, name);
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, `${shots}-${name}.png`), fullPage: true });
}

/** Every chart table on the page: {tableId: {rowHeading: [cell texts]}}, and row counts. */
async function readTables(page) {
  return page.$$eval('figure.chart table', (tables) => Object.fromEntries(tables.map((table) => [
    table.id,
    Object.fromEntries([...table.querySelectorAll('tbody tr')].map((tr) => [
      tr.querySelector('th').textContent.trim(),
      [...tr.querySelectorAll('td')].map((td) => td.textContent.trim()),
    ])),
  ])));
}

/** What differs from the expectation, as lines (none: all as expected). */
async function differences(page) {
  const found = [];
  const tables = await readTables(page);
  for (const [id, rows] of Object.entries(expected.tables)) {
    const table = tables[id];
    if (!table) { found.push(`no table ${id}`); continue; }
    for (const [heading, cells] of Object.entries(rows)) {
      if (JSON.stringify(table[heading]) !== JSON.stringify(cells)) {
        found.push(`${id} ${heading}: ${JSON.stringify(table[heading])}, expected ${JSON.stringify(cells)}`);
      }
    }
    const daily = /^\d{4}-\d{2}-\d{2}$/.test(Object.keys(rows)[0] || '');
    if (daily) {
      if (Object.keys(table).length !== expected.days) found.push(`${id} has ${Object.keys(table).length} days`);
      for (const [heading, cells] of Object.entries(table)) {
        if (!(heading in rows) && cells.some((c) => c !== '0')) found.push(`${id} ${heading}: ${cells}, expected zeros`);
      }
    }
  }
  for (const [id, text] of Object.entries(expected.figures)) {
    const shown = (await page.textContent(`#${id}`)).trim();
    if (shown !== text) found.push(`#${id}: ${shown}, expected ${text}`);
  }
  return found;
}

const browser = await launch();
try {
  const admin = await (await browser.newContext({ locale: 'en' })).newPage();
  await admin.goto(panel);
  await completeSignIn(admin, null, { redirectUri: panel, user: { email: adminEmail, password } });
  assert((await admin.textContent('#admin-email')).trim() === adminEmail, 'signed in as the admin');
  assert(await admin.getAttribute('#nav-dashboard', 'aria-current') === 'page', 'the dashboard is the first page');

  // Counts are written off the request path: the admin's own sign-in may land a moment later.
  let found = await differences(admin);
  for (let attempt = 0; found.length > 0 && attempt < 40; attempt += 1) {
    await admin.waitForTimeout(250);
    await admin.reload();
    found = await differences(admin);
  }
  assert(found.length === 0, `the charts show other numbers:\n${found.join('\n')}`);

  // Each chart is one image with a title and a description naming its totals, and visible bars.
  const charts = await admin.$$eval('figure.chart', (figures) => figures.map((f) => ({
    id: f.id,
    caption: f.querySelector('figcaption')?.textContent,
    role: f.querySelector('svg')?.getAttribute('role'),
    title: f.querySelector('svg > title')?.textContent,
    desc: f.querySelector('svg > desc')?.textContent,
    bars: f.querySelectorAll('svg rect[class^=series-]').length,
    hidden: getComputedStyle(f.querySelector('table')).position === 'absolute',
  })));
  assert(charts.length === 6, `six charts: ${charts.map((c) => c.id)}`);
  for (const chart of charts) {
    assert(chart.role === 'img' && chart.title && chart.title === chart.caption, `${chart.id} is a titled image`);
    assert(chart.desc && /\d/.test(chart.desc), `${chart.id} describes its numbers: ${chart.desc}`);
    assert(chart.hidden, `${chart.id}'s table is visually hidden`);
  }
  const signIns = charts.find((c) => c.id === 'chart-sign-ins');
  assert(signIns.bars === 2, `today's sign-ins draw two bars (succeeded, failed): ${signIns.bars}`);
  const scripts = await admin.$$eval('script', (s) => s.length);
  assert(scripts === 0, 'the dashboard runs no script');
  await shoot(admin, 'dashboard');

  await admin.click('#nav-configuration');
  await admin.waitForSelector('#server-info');
  assert((await admin.$$('#server-info tbody tr')).length > 10, 'the configuration page lists the server configuration');
  assert(await admin.getAttribute('#nav-configuration', 'aria-current') === 'page', 'the configuration page is marked in the navigation');
  await shoot(admin, 'configuration');

  // Right to left: the charts keep their time axis left to right, the page passes axe in Arabic.
  await admin.goto(`${panel}/locale/ar?back=${encodeURIComponent('/admin')}`);
  await admin.waitForSelector('#chart-sign-ins');
  assert(await admin.getAttribute('html', 'dir') === 'rtl', 'the Arabic panel is right to left');
  assert(await admin.getAttribute('#chart-sign-ins svg', 'direction') === 'ltr', 'the time axis stays left to right');
  await shoot(admin, 'dashboard-ar');
  console.log('admin-dashboard: ok');
} finally {
  await browser.close();
}
