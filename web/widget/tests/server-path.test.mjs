// REVERB_SERVER_PATH: a server answering at {path}/app/{key} (behind a proxy that routes by path)
// tells browsers the path in its config, and the widget's socket connects there and delivers.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startParley } from '../../tests/lib/server.mjs';
import { startPages } from '../../tests/lib/pages.mjs';
import { launch, newContext, openPage, widget, session } from '../../tests/lib/browser.mjs';

let parley, pages, browser;

before(async () => {
  parley = await startParley({ env: { REVERB_SERVER_PATH: '/ws/' } });
  pages = await startPages(parley);
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await pages?.stop();
  await parley?.stop();
});

test('the config names the server path and the widget connects under it', async () => {
  const config = await parley.api('GET', '/api/chatbot/config');
  assert.equal(config.json.reverb.path, '/ws', 'the trailing slash dropped');

  const context = await newContext(browser);
  const page = await openPage(context);
  const sockets = [];
  page.on('websocket', (ws) => sockets.push(ws.url()));
  await page.goto(pages.page());
  const w = widget(page);
  await w.open();
  await w.send('under a path');
  await w.waitForMessage('under a path');
  await w.waitForState(() => window.ChatbotWidget.state.realtimeProvider === 'reverb' && window.ChatbotWidget.state.realtimeConnected === true);
  assert.ok(sockets.length > 0, 'a socket was opened');
  for (const url of sockets) assert.match(new URL(url).pathname, /^\/ws\/app\//, url);

  const { value } = await session(page);
  await parley.api('POST', `/api/chatbot/conversation/${value.conversationId}/messages`, {
    body: { message: 'Hello from the path', client_id: 'path-1' },
    visitorToken: value.visitorToken,
  });
  await w.waitForMessage('Hello from the path');
  assert.ok(page.logs.includes('✓ New message received via reverb: Hello from the path'), page.logs.join('\n'));
  await context.close();
});
