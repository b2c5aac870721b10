// Proactive greeting: with settings.proactive = {message, delay_secs, url_pattern}, a visitor with
// the chat closed and no conversation in this browser gets a bubble beside the launcher after the
// delay (text only, a labelled "×", read out politely, the 'proactive' event); clicking it opens
// the chat; it shows at most once a day (a reload shows none); a page whose path does not match
// the pattern and a page with ChatbotConfig.proactive:false get none. Screenshots at desktop and
// phone sizes and the accessibility check.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startParley } from '../../tests/lib/server.mjs';
import { startPages } from '../../tests/lib/pages.mjs';
import { launch, newContext, openPage, widget, screenshot } from '../../tests/lib/browser.mjs';
import { accessibilityProblems } from '../../tests/lib/a11y.mjs';
import { en } from '../src/i18n.js';

const MESSAGE = 'Need a hand? <b>Ask us</b> anything.';
let parley, pages, browser, demo, original;

before(async () => {
  parley = await startParley();
  pages = await startPages(parley);
  browser = await launch();
  [demo] = JSON.parse(await parley.cli(['widget', 'list', '--json']));
  original = demo.settings && typeof demo.settings === 'object' ? demo.settings : {};
  const proactive = { message: MESSAGE, delay_secs: 1, url_pattern: '/chatbot-*' };
  await parley.cli(['widget', 'configure', String(demo.id), '--settings', JSON.stringify({ ...original, proactive })]);
});

after(async () => {
  if (demo) await parley.cli(['widget', 'configure', String(demo.id), '--settings', JSON.stringify(original)]).catch(() => {});
  await browser?.close();
  await pages?.stop();
  await parley?.stop();
});

const nudge = (page) => page.locator('#parley-chatbot-widget .nudge');

/** Records the 'proactive' events on the page (subscribed through the pre-load stub). */
const CALLS = "window.__proactive = []; ChatbotWidget.on('proactive', function (e) { window.__proactive.push(e); });";

test('the bubble appears after the delay, opens the chat, and not again the same day', async () => {
  const context = await newContext(browser, { viewport: { width: 1280, height: 800 } });
  const page = await openPage(context, pages.page(null, { calls: CALLS }));
  const w = widget(page);
  await w.ready();
  const started = Date.now();
  assert.equal(await nudge(page).count(), 0, 'not before the delay');
  await nudge(page).waitFor({ state: 'visible', timeout: 5000 });
  assert.ok(Date.now() - started >= 500, 'after about a second');
  // Text only, never markup; the close button has a label.
  assert.equal(await page.locator('#parley-chatbot-widget .nudge-text').textContent(), MESSAGE);
  assert.equal(await page.locator('#parley-chatbot-widget .nudge b').count(), 0);
  assert.equal(await page.locator('#parley-chatbot-widget .nudge-x').getAttribute('aria-label'), en.proactiveClose);
  assert.deepEqual(await page.evaluate(() => window.__proactive), [{ message: MESSAGE }]);
  // Read out politely through the widget's live region.
  await page.waitForFunction(
    (text) => document.querySelector('#parley-chatbot-widget').shadowRoot.querySelector('.sr[aria-live=polite]').textContent === text,
    MESSAGE,
  );
  await screenshot(page, 'proactive-desktop');
  assert.deepEqual(await accessibilityProblems(page), []);

  await page.locator('#parley-chatbot-widget .nudge-text').click();
  await w.panel.waitFor({ state: 'visible' });
  assert.equal(await nudge(page).count(), 0, 'the bubble goes once the chat opens');

  // Reload with the chat closed: shown today already, so none.
  await page.evaluate(() => window.ChatbotWidget.close());
  await page.reload();
  await w.ready();
  await page.waitForTimeout(2000);
  assert.equal(await nudge(page).count(), 0, 'not again the same day');
  assert.deepEqual(page.errors, []);
  await context.close();
});

test('on a phone: beside the launcher, Enter opens the chat; the × dismisses it', async () => {
  const context = await newContext(browser, { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  const page = await openPage(context, pages.page());
  const w = widget(page);
  await w.ready();
  await nudge(page).waitFor({ state: 'visible', timeout: 5000 });
  const [bubble, launcher] = await Promise.all([nudge(page).boundingBox(), w.launcher.boundingBox()]);
  assert.ok(bubble.y + bubble.height <= launcher.y + 1, 'above the launcher');
  assert.ok(bubble.x >= 0 && bubble.x + bubble.width <= 390, 'inside the screen');
  await screenshot(page, 'proactive-mobile');
  assert.deepEqual(await accessibilityProblems(page), []);
  await page.locator('#parley-chatbot-widget .nudge-text').focus();
  await page.keyboard.press('Enter');
  await w.panel.waitFor({ state: 'visible' });
  await context.close();

  // Another visitor dismisses it with the ×: gone, and remembered.
  const other = await newContext(browser, { viewport: { width: 390, height: 844 } });
  const page2 = await openPage(other, pages.page());
  await widget(page2).ready();
  await nudge(page2).waitFor({ state: 'visible', timeout: 5000 });
  await page2.locator('#parley-chatbot-widget .nudge-x').click();
  assert.equal(await nudge(page2).count(), 0);
  assert.equal(await widget(page2).panel.isVisible(), false, 'dismissing does not open the chat');
  await page2.reload();
  await widget(page2).ready();
  await page2.waitForTimeout(2000);
  assert.equal(await nudge(page2).count(), 0);
  await other.close();
});

test('none on a page whose path does not match, nor with ChatbotConfig.proactive: false', async () => {
  for (const url of [pages.origin + '/', pages.page({ proactive: false })]) {
    const context = await newContext(browser, { viewport: { width: 1280, height: 800 } });
    const page = await openPage(context, url);
    await widget(page).ready();
    await page.waitForTimeout(2500);
    assert.equal(await nudge(page).count(), 0, url);
    await context.close();
  }
});
