// axe-core in the page under test, for WCAG 2.1 A and AA. The script goes in through the
// DevTools protocol (page.evaluate), which the page's CSP does not govern, so the test never
// needs to loosen the CSP it is also checking.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const AXE_SOURCE = await readFile(require.resolve('axe-core/axe.min.js'), 'utf8');
export const WCAG_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

/**
 * @typedef {{ id: string, impact: string | null | undefined, help: string, nodes: { target: unknown[], failureSummary?: string }[] }} Violation
 */

/**
 * Runs axe on the page as it is now; resolves with its violations.
 * @param {import('playwright-core').Page} page
 * @returns {Promise<Violation[]>}
 */
export async function axeViolations(page) {
  await page.evaluate(AXE_SOURCE);
  return page.evaluate(async (tags) => {
    const axe = /** @type {any} */ (window).axe;
    const result = await axe.run(document, { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] });
    return result.violations.map((/** @type {any} */ v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((/** @type {any} */ n) => ({ target: n.target, failureSummary: n.failureSummary })),
    }));
  }, WCAG_TAGS);
}

/** @param {string} page @param {Violation[]} violations */
export function describeViolations(page, violations) {
  return violations
    .map((v) => {
      const where = v.nodes
        .slice(0, Number(process.env.AXE_NODES ?? 3))
        .map((n) => `      ${JSON.stringify(n.target)}${n.failureSummary ? `: ${n.failureSummary.split('\n').slice(1).join(' ').trim()}` : ''}`)
        .join('\n');
      return `    ${page}: ${v.impact ?? 'unknown'} ${v.id} (${v.help}), ${v.nodes.length} element(s)\n${where}`;
    })
    .join('\n');
}
