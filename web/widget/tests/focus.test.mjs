// Focus and phones: the close button's focus ring shows on the header (drawn in the header's text
// colour, not the brand colour it sits on); on a phone the full-screen panel is a modal dialog
// (aria-modal) whose Tab and Shift+Tab stay inside it, and opening it does not put the focus in
// the message box (no keyboard popping up unasked) until the visitor taps it; text boxes use at
// least 16 px so phones do not zoom. Screenshots and the accessibility check.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startParley } from '../../tests/lib/server.mjs';
import { startPages } from '../../tests/lib/pages.mjs';
import { launch, newContext, openPage, widget, screenshot } from '../../tests/lib/browser.mjs';
import { accessibilityProblems } from '../../tests/lib/a11y.mjs';

let parley, pages, browser;

before(async () => {
  parley = await startParley();
  pages = await startPages(parley);
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await pages?.stop();
  await parley?.stop();
});

/** Inside the widget's shadow root: the focused element's class or tag, and whether it is in the panel. */
const focusIn = (page) =>
  page.evaluate(() => {
    const root = document.querySelector('#parley-chatbot-widget').shadowRoot;
    const el = root.activeElement;
    return { inWidget: document.activeElement?.id === 'parley-chatbot-widget', inPanel: !!el && !!root.querySelector('.panel')?.contains(el), what: el ? el.className || el.tagName : null };
  });

test('on the header the close button shows its focus ring', async () => {
  const context = await newContext(browser, { viewport: { width: 1280, height: 800 } });
  const page = await openPage(context, pages.page());
  const w = widget(page);
  await w.open();
  await page.keyboard.press('Shift+Tab');
  await page.keyboard.press('Shift+Tab');
  const ring = await page.evaluate(() => {
    const root = document.querySelector('#parley-chatbot-widget').shadowRoot;
    const close = root.querySelector('.head button');
    close.focus({ focusVisible: true });
    const style = getComputedStyle(close);
    const head = getComputedStyle(root.querySelector('.head'));
    return { outline: style.outlineColor, width: style.outlineWidth, header: head.backgroundColor, text: head.color };
  });
  assert.notEqual(ring.outline, ring.header, 'not drawn in the colour it sits on');
  assert.equal(ring.outline, ring.text);
  await screenshot(page, 'focus-close-desktop');
  const size = await page.evaluate(() => getComputedStyle(document.querySelector('#parley-chatbot-widget').shadowRoot.querySelector('.composer textarea')).fontSize);
  assert.ok(parseFloat(size) >= 16, size);
  await context.close();
});

test('on a phone the panel keeps the focus and does not pop the keyboard up', async () => {
  const context = await newContext(browser, { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  const page = await openPage(context, pages.page());
  const w = widget(page);
  await w.ready();
  await w.launcher.tap();
  await w.panel.waitFor({ state: 'visible' });
  assert.equal(await w.panel.getAttribute('aria-modal'), 'true');
  const opened = await focusIn(page);
  assert.equal(opened.what, 'panel', 'the dialog itself, not the message box');
  for (let i = 0; i < 12; i++) {
    await page.keyboard.press('Tab');
    const at = await focusIn(page);
    assert.ok(at.inWidget && at.inPanel, 'Tab ' + (i + 1) + ' stays in the panel: ' + JSON.stringify(at));
  }
  for (let i = 0; i < 12; i++) {
    await page.keyboard.press('Shift+Tab');
    const at = await focusIn(page);
    assert.ok(at.inWidget && at.inPanel, 'Shift+Tab ' + (i + 1) + ' stays in the panel: ' + JSON.stringify(at));
  }
  await w.input.tap();
  assert.equal((await focusIn(page)).what.toLowerCase(), 'textarea', 'the box once tapped');
  const size = await page.evaluate(() => getComputedStyle(document.querySelector('#parley-chatbot-widget').shadowRoot.querySelector('.composer textarea')).fontSize);
  assert.ok(parseFloat(size) >= 16, size);
  await screenshot(page, 'focus-phone');
  assert.deepEqual(await accessibilityProblems(page), []);
  await context.close();
});
