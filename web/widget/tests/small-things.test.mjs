// Small things a visitor notices: pasting more than a message may hold says so (instead of cutting
// it silently); the launcher shows a close mark while the chat is open and the chat bubble while
// it is closed. Desktop and phone.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startParley } from '../../tests/lib/server.mjs';
import { startPages } from '../../tests/lib/pages.mjs';
import { launch, newContext, openPage, widget, screenshot } from '../../tests/lib/browser.mjs';
import { en } from '../src/i18n.js';

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

const launcherPath = (page) =>
  page.evaluate(() => document.querySelector('#parley-chatbot-widget').shadowRoot.querySelector('.launcher svg path').getAttribute('d'));

for (const [size, viewport] of [
  ['desktop', { width: 1280, height: 800 }],
  ['phone', { width: 390, height: 844 }],
]) {
  test(`a paste too long for a message is said; the launcher shows what it does (${size})`, async () => {
    const context = await newContext(browser, { viewport });
    const page = await openPage(context, pages.page());
    const w = widget(page);
    await w.ready();
    const closedIcon = await launcherPath(page);
    await w.open();
    if (size === 'desktop') assert.notEqual(await launcherPath(page), closedIcon, 'a close mark while open');

    await page.evaluate(() => {
      const box = document.querySelector('#parley-chatbot-widget').shadowRoot.querySelector('.composer textarea');
      const data = new DataTransfer();
      data.setData('text/plain', 'x'.repeat(6000));
      box.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
    });
    const banner = page.locator('#parley-chatbot-widget .banner');
    await banner.filter({ hasText: en.tooLong.replace('{max}', '5000') }).waitFor();
    await screenshot(page, 'paste-too-long-' + size);

    await page.evaluate(() => window.ChatbotWidget.close());
    assert.equal(await launcherPath(page), closedIcon, 'the chat bubble again once closed');
    await context.close();
  });
}
