// A server the visitor cannot reach is said, not hidden: while the chat API does not answer, the
// banner and the header say "Reconnecting…" (the header no longer promises answers) and the
// message waits; when it answers again the message goes, once, and the header is itself again.
// While the socket is down the widget polls, and state.realtimeProvider says 'polling' (the
// seed's debugging contract), then the provider's name again once the socket is back.
// Screenshots at desktop and phone sizes, and the accessibility check.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startParley } from '../../tests/lib/server.mjs';
import { startPages } from '../../tests/lib/pages.mjs';
import { launch, newContext, openPage, widget, screenshot } from '../../tests/lib/browser.mjs';
import { accessibilityProblems } from '../../tests/lib/a11y.mjs';
import { en } from '../src/i18n.js';

let parley, pages, browser;

before(async () => {
  parley = await startParley({ agent: true });
  pages = await startPages(parley);
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await pages?.stop();
  await parley?.stop();
});

const statusLine = (page) => page.locator('#parley-chatbot-widget .head .status');
const bannerLine = (page) => page.locator('#parley-chatbot-widget .banner');

for (const [size, viewport] of [
  ['desktop', { width: 1280, height: 800 }],
  ['phone', { width: 390, height: 844 }],
]) {
  test(`an unreachable server shows as Reconnecting…, and the waiting message goes once it is back (${size})`, async () => {
    const context = await newContext(browser, { viewport });
    const page = await openPage(context, pages.page());
    const w = widget(page);
    await w.open();
    await w.send('Before the outage');
    await w.waitForMessage('Before the outage');
    const before = await statusLine(page).textContent();
    assert.notEqual(before, en.reconnecting);

    // The API stops answering (connections refused).
    await page.route(parley.baseUrl + '/api/chatbot/**', (route) => route.abort('connectionrefused'));
    await w.send('During the outage');
    await statusLine(page).filter({ hasText: en.reconnecting }).waitFor();
    await bannerLine(page).filter({ hasText: en.reconnecting }).waitFor();
    assert.equal(await page.locator('#parley-chatbot-widget .head .dot.on').count(), 0, 'no lit dot while unreachable');
    await screenshot(page, 'outage-' + size);
    assert.deepEqual(await accessibilityProblems(page), []);

    // Back: the message goes (once), and the header and banner are themselves again.
    await page.unroute(parley.baseUrl + '/api/chatbot/**');
    await w.waitForMessage('During the outage', 30000);
    await statusLine(page).filter({ hasText: before }).waitFor();
    assert.equal(await bannerLine(page).isVisible(), false);
    const stored = (await w.state()).messages.filter((m) => m.text === 'During the outage');
    assert.equal(stored.length, 1);
    assert.deepEqual(page.errors, []);
    await context.close();
  });
}

test('while the socket is down the widget polls and says so in state.realtimeProvider', async () => {
  const context = await newContext(browser);
  const page = await openPage(context, pages.page());
  const w = widget(page);
  await w.open();
  await w.send('Hello');
  await w.waitForMessage('Hello');
  await w.waitForState(() => window.ChatbotWidget.state.realtimeConnected === true);
  assert.equal((await w.state()).realtimeProvider, 'reverb');

  // The socket is cut and its reconnection refused for a while: polling delivers.
  await page.evaluate(() => window.ChatbotWidget.echo.connector.pusher.connection.disconnect());
  await w.waitForState(() => window.ChatbotWidget.state.realtimeProvider === 'polling');
  const { conversationId } = await w.state();
  const reply = await parley.agentApi('POST', `/api/agent/conversations/${conversationId}/messages`, { body: { message: 'Sent while you poll' } });
  assert.equal(reply.status, 201, reply.text);
  await w.waitForMessage('Sent while you poll');

  // The socket comes back: the provider's name again.
  await page.evaluate(() => window.ChatbotWidget.echo.connector.pusher.connect());
  await w.waitForState(() => window.ChatbotWidget.state.realtimeConnected === true && window.ChatbotWidget.state.realtimeProvider === 'reverb');
  await context.close();
});
