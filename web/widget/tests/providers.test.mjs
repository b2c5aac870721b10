// The seed's provider chain: Pusher first when the config enables it, then Reverb, then polling;
// and when a socket comes back after the widget fell back to polling, polling stops. The Pusher
// leg points pusher-js at the local realtime server (config rewritten in the browser), never at
// a hosted service: this machine has no network beyond loopback.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startParley, closedPort } from '../../tests/lib/server.mjs';
import { startPages } from '../../tests/lib/pages.mjs';
import { launch, newContext, openPage, widget, session } from '../../tests/lib/browser.mjs';

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

/** A page whose config enables "Pusher" at 127.0.0.1:port (signed by the same local app). */
async function pusherPage(context, port, cfg) {
  const page = await openPage(context);
  await page.route('**/api/chatbot/config', async (route) => {
    const res = await route.fetch();
    const json = await res.json();
    json.realtimeProvider = 'pusher';
    json.pusher = { enabled: true, key: json.reverb.key, cluster: 'mt1', encrypted: false, host: '127.0.0.1', port };
    await route.fulfill({ response: res, json });
  });
  // The server has no Pusher app configured; let the local app sign for it.
  await page.route('**/api/chatbot/broadcasting/auth', (route) =>
    route.continue({ postData: route.request().postData().replace('provider=pusher', 'provider=reverb') }));
  await page.goto(pages.page(cfg));
  return page;
}

const connected = () => window.ChatbotWidget.state.realtimeConnected === true;

test('Pusher is used first when enabled', async () => {
  const context = await newContext(browser);
  const page = await pusherPage(context, parley.realtimePort);
  const w = widget(page);
  await w.open();
  await w.send('via pusher?');
  await w.waitForMessage('via pusher?');
  await w.waitForState(connected);
  const s = await w.state();
  assert.equal(s.realtimeProvider, 'pusher');
  assert.ok(page.logs.includes('✓ Pusher loaded'), page.logs.join('\n'));
  assert.ok(page.logs.includes('✓ Pusher real-time connected'));
  assert.ok(page.logs.includes(`✓ Subscribed to real-time channel: chat.conversation.${s.conversationId} via pusher`));

  const { value } = await session(page);
  await parley.api('POST', `/api/chatbot/conversation/${value.conversationId}/messages`, {
    body: { message: 'Hello!', client_id: 'p-1' },
    visitorToken: value.visitorToken,
  });
  await w.waitForMessage('Hello!');
  assert.ok(page.logs.includes('✓ New message received via pusher: Hello!'), page.logs.join('\n'));
  await context.close();
});

test('when Pusher cannot connect, Reverb takes over', async () => {
  const context = await newContext(browser);
  const page = await pusherPage(context, await closedPort(), { realtime: { attemptTimeout: 500 } });
  const w = widget(page);
  await w.open();
  await w.send('falling through');
  await w.waitForMessage('falling through');
  await w.waitForState(() => window.ChatbotWidget.state.realtimeProvider === 'reverb' && window.ChatbotWidget.state.realtimeConnected, null, 30000);
  assert.ok(page.logs.includes('Pusher initialization failed, trying Reverb...'), page.logs.join('\n'));
  assert.ok(page.logs.includes('✓ Reverb real-time connected'));
  await context.close();
});

test('when the socket comes back after falling back to polling, polling stops', async () => {
  const context = await newContext(browser);
  const page = await openPage(context);
  let blocked = true;
  await page.routeWebSocket(/\/app\//, (ws) => {
    if (blocked) return ws.close({ code: 4100, reason: 'blocked by the test' });
    const server = ws.connectToServer();
    ws.onMessage((m) => server.send(m));
    server.onMessage((m) => ws.send(m));
  });
  await page.goto(pages.page({ realtime: { attemptTimeout: 400, reconnectDelay: 200, retryFallbackAfter: 1500 } }));
  const w = widget(page);
  await w.open();
  await w.send('while blocked');
  await w.waitForMessage('while blocked');
  await w.waitForState(() => window.ChatbotWidget.state.realtimeProvider === 'polling', null, 30000);

  let polls = 0;
  page.on('request', (r) => r.url().includes('?after=') && polls++);
  blocked = false;
  await w.waitForState(() => window.ChatbotWidget.state.realtimeProvider === 'reverb' && window.ChatbotWidget.state.realtimeConnected, null, 30000);
  assert.ok(polls >= 1, 'it was polling while blocked');

  // Connected again: no more polling (the one gap-fill after subscribing is allowed).
  const atConnect = polls;
  const t0 = Date.now();
  await page.waitForFunction((t) => Date.now() - t > 5000, t0, { timeout: 10000, polling: 500 });
  assert.ok(polls - atConnect <= 1, `polled ${polls - atConnect} times after the socket came back`);
  await context.close();
});
