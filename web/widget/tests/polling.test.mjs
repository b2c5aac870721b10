// The realtime port is unreachable (the config endpoint advertises a port nothing listens on):
// the widget tries Reverb 5 times, falls back to polling every 2 s, and still gets every message
// sent from another device or straight through the API, each once and in order.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startParley, closedPort } from '../../tests/lib/server.mjs';
import { startPages } from '../../tests/lib/pages.mjs';
import { launch, newContext, openPage, widget, screenshot, session } from '../../tests/lib/browser.mjs';

let parley, pages, browser;

before(async () => {
  parley = await startParley({ env: { REVERB_PORT: String(await closedPort()) } });
  pages = await startPages(parley);
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await pages?.stop();
  await parley?.stop();
});

// Shorter attempts keep the test quick; the 5 attempts 1 s apart are the seed's defaults.
const PAGE_CFG = { realtime: { attemptTimeout: 600 } };

test('with the socket unreachable the widget polls and still gets messages', async () => {
  const config = await parley.api('GET', '/api/chatbot/config');
  assert.equal(config.status, 200);
  assert.notEqual(config.json.reverb.port, parley.realtimePort, 'the server advertises the closed port');

  const context = await newContext(browser);
  const page = await openPage(context, pages.page(PAGE_CFG));
  const w = widget(page);
  await w.open();
  await w.send('Is anyone there?');
  await w.waitForMessage('Is anyone there?');

  await w.waitForState(() => window.ChatbotWidget.state.realtimeProvider === 'polling', null, 30000);
  const s = await w.state();
  assert.equal(s.realtimeConnected, false);
  assert.ok(page.logs.includes('Reverb initialization failed, falling back to polling...'), page.logs.join('\n'));

  // Another party posts through the API (here: the same visitor's token, from Node).
  const { value } = await session(page);
  const sent = await parley.api('POST', `/api/chatbot/conversation/${value.conversationId}/messages`, {
    body: { message: 'Sent through the API', client_id: 'api-1' },
    visitorToken: value.visitorToken,
  });
  assert.equal(sent.status, 201, sent.text);
  await w.waitForMessage('Sent through the API', 10000);

  // A second device without any socket.
  const other = await newContext(browser);
  await other.addInitScript(([k, v]) => localStorage.setItem(k, v), [(await session(page)).key, JSON.stringify(value)]);
  const page2 = await openPage(other, pages.page(PAGE_CFG));
  const w2 = widget(page2);
  await w2.open();
  await w2.waitForMessage('Sent through the API');
  await w2.send('From the second device');
  await w.waitForMessage('From the second device', 10000);

  const final = await w.state();
  assert.deepEqual(final.messages.map((m) => m.text), ['Is anyone there?', 'Sent through the API', 'From the second device']);
  const ids = final.messages.map((m) => m.id);
  assert.deepEqual([...ids].sort((a, b) => a - b), ids, 'ordered by id');
  await screenshot(page, 'polling');
  assert.deepEqual(page.errors, []);
  await context.close();
  await other.close();
});
