// axe-core (from the npm registry) run inside the page Chromium shows: WCAG 2.0, 2.1 and 2.2 at
// levels A and AA. Any violation fails the calling script with the rule, the element and why.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const WCAG_22_AA = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22a', 'wcag22aa'];

/** The pages audited so far in this process, by name. */
export const audited = [];

export async function audit(page, name) {
  // Evaluated by the browser's debugging protocol, so the pages' Content-Security-Policy (no
  // inline scripts) stays as it is.
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) await page.evaluate(AXE_SOURCE);
  const { violations } = await page.evaluate(
    (tags) => window.axe.run(document, { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] }),
    WCAG_22_AA,
  );
  if (violations.length > 0) {
    const lines = violations.flatMap((v) => [
      `- ${v.id} (${v.impact}): ${v.help}`,
      ...v.nodes.slice(0, 5).map((n) => `    ${n.target.join(' ')}: ${n.failureSummary.replace(/\s+/g, ' ')}`),
    ]);
    throw new Error(`axe-core: the ${name} page (${page.url()}) has ${violations.length} WCAG 2.2 AA violation(s):\n${lines.join('\n')}`);
  }
  audited.push(name);
}
