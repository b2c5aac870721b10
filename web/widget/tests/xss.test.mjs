// Everything people type is shown as text: HTML in a message stays text (and runs nothing),
// http(s) URLs become safe links, other schemes do not. Both for the sender and for a second
// tab that receives the message over the socket.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startParley } from '../../tests/lib/server.mjs';
import { startPages } from '../../tests/lib/pages.mjs';
import { launch, newContext, openPage, widget, screenshot } from '../../tests/lib/browser.mjs';

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

const XSS = '<img src=x onerror=window.__xss=1>';

test('HTML in a message is shown as text and never runs', async () => {
  const context = await newContext(browser);
  const sender = await openPage(context, pages.page());
  const receiver = await openPage(context, pages.page());
  const ws = widget(sender);
  const wr = widget(receiver);
  await ws.open();
  await wr.open();
  await ws.send(XSS);
  await ws.waitForMessage(XSS);
  await wr.waitForState(() => window.ChatbotWidget.state.realtimeConnected);
  await ws.send('<script>window.__xss=2</script><b>bold?</b> javascript:alert(1) see https://example.com/a?b=1&c=(2).');
  for (const [w, page] of [[ws, sender], [wr, receiver]]) {
    await w.waitForMessage(XSS);
    await w.waitForMessage('bold?');
    const bubble = w.message(XSS).locator('.bubble');
    assert.equal(await bubble.textContent(), XSS, 'the exact text');
    assert.equal(await bubble.locator('img').count(), 0, 'no element was created from it');
    const second = w.message('bold?').locator('.bubble');
    assert.equal(await second.locator('script, b').count(), 0);
    const links = second.locator('a');
    assert.equal(await links.count(), 1, 'only the https URL is a link');
    assert.equal(await links.getAttribute('href'), 'https://example.com/a?b=1&c=(2)');
    assert.equal(await links.getAttribute('rel'), 'noopener noreferrer nofollow');
    assert.equal(await links.getAttribute('target'), '_blank');
    assert.equal(await links.textContent(), 'https://example.com/a?b=1&c=(2)', 'the trailing full stop stays text');
    assert.equal(await page.evaluate(() => window.__xss), undefined);
    assert.deepEqual(page.errors, []);
  }
  await screenshot(receiver, 'xss-as-text');
  await context.close();
});
