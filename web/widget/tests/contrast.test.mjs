// Brand colours and contrast: with a yellow brand colour and no text colour chosen, the widget
// writes black on it (the header, the launcher, the visitor's bubbles), not white at 1.2:1; a dark
// brand colour keeps white text; a text colour the site chose is used as chosen, and
// `parley widget configure` warns that it fails WCAG AA. Screenshots at desktop and phone sizes,
// and the accessibility check.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startParley } from '../../tests/lib/server.mjs';
import { startPages } from '../../tests/lib/pages.mjs';
import { launch, newContext, openPage, widget, screenshot } from '../../tests/lib/browser.mjs';
import { accessibilityProblems } from '../../tests/lib/a11y.mjs';
import { contrast, readableOn } from '../../shared/ui/contrast.js';

let parley, pages, browser, demo, original;

before(async () => {
  parley = await startParley();
  pages = await startPages(parley);
  browser = await launch();
  [demo] = JSON.parse(await parley.cli(['widget', 'list', '--json']));
  original = demo.settings && typeof demo.settings === 'object' ? demo.settings : {};
});

after(async () => {
  if (demo) await parley.cli(['widget', 'configure', String(demo.id), '--settings', JSON.stringify(original)]).catch(() => {});
  await browser?.close();
  await pages?.stop();
  await parley?.stop();
});

async function configure(colors, options) {
  return parley.cli(['widget', 'configure', String(demo.id), '--settings', JSON.stringify({ ...original, colors })], options);
}

/** The computed text and background colours of the widget's header. */
const header = (page) =>
  page.evaluate(() => {
    const head = document.querySelector('#parley-chatbot-widget').shadowRoot.querySelector('.head');
    const style = getComputedStyle(head);
    return { color: style.color, background: style.backgroundColor };
  });

test('the contrast arithmetic follows WCAG 2', () => {
  assert.equal(contrast('#000000', '#ffffff').toFixed(1), '21.0');
  assert.equal(contrast('#ffeb3b', '#ffffff').toFixed(1), '1.2');
  assert.equal(readableOn('#ffeb3b'), '#000000');
  assert.equal(readableOn('#1d4ed8'), '#ffffff');
  assert.equal(contrast('nonsense', '#fff'), null);
});

test('a yellow brand colour gets black text; a dark one keeps white', async () => {
  await configure({ primary: '#ffeb3b' });
  for (const [viewport, name] of [
    [{ width: 1280, height: 800 }, 'contrast-yellow-desktop'],
    [{ width: 390, height: 844 }, 'contrast-yellow-phone'],
  ]) {
    const context = await newContext(browser, { viewport, ...(viewport.width < 500 ? { isMobile: true, hasTouch: true } : {}) });
    const page = await openPage(context, pages.page());
    const w = widget(page);
    await w.open();
    await w.send('Is this readable?');
    await w.waitForMessage('Is this readable?');
    const { color, background } = await header(page);
    assert.equal(background, 'rgb(255, 235, 59)');
    assert.equal(color, 'rgb(0, 0, 0)', 'black on yellow');
    await screenshot(page, name);
    assert.deepEqual(await accessibilityProblems(page), []);
    await context.close();
  }
  await configure({ primary: '#1d4ed8' });
  const context = await newContext(browser);
  const page = await openPage(context, pages.page());
  await widget(page).open();
  assert.equal((await header(page)).color, 'rgb(255, 255, 255)', 'white on dark blue');
  await context.close();
});

test('a text colour the site chose is kept, and configuring it warns below AA', async () => {
  // The warning goes to standard error; the command still succeeds.
  const said = await configure({ primary: '#ffeb3b', text_on_primary: '#ffffff' }, { withStderr: true });
  assert.match(said.stderr, /colors.text_on_primary: #ffffff on #ffeb3b has a contrast of 1.2:1, below WCAG AA/);
  const context = await newContext(browser);
  const page = await openPage(context, pages.page());
  await widget(page).open();
  assert.equal((await header(page)).color, 'rgb(255, 255, 255)', "the site's choice stands");
  await context.close();
});
