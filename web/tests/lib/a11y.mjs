// An accessibility check without extra packages: Chromium's own accessibility tree (over the
// DevTools protocol, as a screen reader would get it) must give every control, link, image and
// form a name, and the page's markup must hold together for assistive technology (a language,
// one main landmark, a heading, unique ids, and every aria-labelledby / aria-describedby / label
// pointing at something). `accessibilityProblems(page)` resolves to a list of what is wrong (empty
// when all is well), so a test can `assert.deepEqual(await accessibilityProblems(page), [])`.
//
// `axeViolations(page)` runs axe-core (a devDependency, put into the page under test only here,
// never into the bundles) over the whole page, the widget's open Shadow DOM included, and
// resolves to its serious and critical violations, one line each with where they are (colour
// contrast with the colours and the ratio), so a test can `assert.deepEqual(await
// axeViolations(page), [])`.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

let axeSource = null;

/** Roles that are useless to a screen-reader user without a name. */
const NEEDS_NAME = new Set([
  'button', 'link', 'textbox', 'searchbox', 'checkbox', 'radio', 'combobox', 'listbox', 'slider',
  'spinbutton', 'switch', 'tab', 'menuitem', 'option', 'image', 'img', 'dialog', 'progressbar', 'form',
]);

export async function accessibilityProblems(page) {
  const problems = [];
  const cdp = await page.context().newCDPSession(page);
  try {
    await cdp.send('Accessibility.enable');
    const { nodes } = await cdp.send('Accessibility.getFullAXTree');
    for (const node of nodes) {
      if (node.ignored) continue;
      const role = node.role?.value;
      if (!NEEDS_NAME.has(role)) continue;
      if (String(node.name?.value ?? '').trim()) continue;
      problems.push(role + ' without an accessible name: ' + (await describe(cdp, node.backendDOMNodeId)));
    }
  } finally {
    await cdp.detach().catch(() => {});
  }
  problems.push(
    ...(await page.evaluate(() => {
      const found = [];
      const shown = (el) => !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length);
      if (!document.documentElement.lang) found.push('the page has no lang');
      if (!document.title.trim()) found.push('the page has no title');
      const mains = [...document.querySelectorAll('main, [role=main]')].filter(shown);
      if (mains.length !== 1) found.push(mains.length + ' main landmarks shown (one expected)');
      if (![...document.querySelectorAll('h1, h2, [role=heading]')].some(shown)) found.push('no heading shown');
      const ids = new Map();
      for (const el of document.querySelectorAll('[id]')) ids.set(el.id, (ids.get(el.id) || 0) + 1);
      for (const [id, n] of ids) if (n > 1) found.push('id "' + id + '" is used ' + n + ' times');
      for (const attr of ['aria-labelledby', 'aria-describedby', 'aria-controls']) {
        for (const el of document.querySelectorAll('[' + attr + ']')) {
          for (const id of el.getAttribute(attr).split(/\s+/).filter(Boolean)) {
            if (!document.getElementById(id)) found.push(attr + ' of <' + el.localName + '> names a missing id "' + id + '"');
          }
        }
      }
      for (const label of document.querySelectorAll('label[for]')) {
        const target = document.getElementById(label.htmlFor);
        if (!target || !/^(input|select|textarea|button|meter|output|progress)$/.test(target.localName)) found.push('label "' + label.textContent.trim() + '" is for no form control');
      }
      for (const input of document.querySelectorAll('input[aria-invalid=true], textarea[aria-invalid=true]')) {
        const described = (input.getAttribute('aria-describedby') || '').split(/\s+/).map((id) => document.getElementById(id)).filter(Boolean);
        if (!described.some((el) => el.textContent.trim())) found.push('<' + input.localName + ' id="' + input.id + '"> is marked invalid without a description saying why');
      }
      return found;
    })),
  );
  return problems;
}

async function describe(cdp, backendNodeId) {
  if (!backendNodeId) return '(no DOM node)';
  try {
    const { node } = await cdp.send('DOM.describeNode', { backendNodeId });
    const attrs = [];
    for (let i = 0; i < (node.attributes || []).length; i += 2) attrs.push(node.attributes[i] + '="' + node.attributes[i + 1] + '"');
    return '<' + node.localName + (attrs.length ? ' ' + attrs.join(' ') : '') + '>';
  } catch {
    return '(node ' + backendNodeId + ')';
  }
}

/**
 * axe-core's serious and critical violations on `page` (`impacts` to change which), each as
 * "rule (impact): what — where", where is each element's selector and, for colour contrast,
 * its colours. Injected through the DevTools protocol, so a page's CSP does not stop it.
 */
export async function axeViolations(page, { impacts = ['serious', 'critical'], exclude = [] } = {}) {
  axeSource ??= readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) await page.evaluate(axeSource + '\n;void 0');
  const violations = await page.evaluate(
    async ({ exclude }) => {
      const result = await window.axe.run({ exclude: exclude.map((s) => [s]) }, { resultTypes: ['violations'] });
      return result.violations.map((v) => ({
        id: v.id,
        impact: v.impact,
        help: v.help,
        nodes: v.nodes.map((n) => ({ impact: n.impact, target: n.target.flat().join(' >>> '), data: n.any.concat(n.all, n.none).map((c) => c.message).filter(Boolean)[0] || '' })),
      }));
    },
    { exclude },
  );
  const lines = [];
  for (const v of violations) {
    for (const n of v.nodes) {
      if (!impacts.includes(n.impact || v.impact)) continue;
      lines.push(v.id + ' (' + (n.impact || v.impact) + '): ' + v.help + ' — ' + n.target + (n.data ? ' — ' + n.data : ''));
    }
  }
  return lines;
}
