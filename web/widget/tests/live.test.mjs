// Two parties chatting live over the embedded Reverb-compatible server: two tabs of one visitor,
// and a second browser (another device) on the same conversation. Checks the seed's console
// lines, typing indicators, reactions, and that a reload keeps the history.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startParley } from '../../tests/lib/server.mjs';
import { startPages } from '../../tests/lib/pages.mjs';
import { launch, newContext, openPage, widget, screenshot, session } from '../../tests/lib/browser.mjs';

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

const connected = () => window.ChatbotWidget?.state?.realtimeConnected === true;

test('two tabs of the same visitor see each other\'s messages live via reverb', async () => {
  const context = await newContext(browser);
  const hosts = new Set();
  context.on('request', (r) => hosts.add(new URL(r.url()).hostname));
  context.on('websocket', (ws) => hosts.add(new URL(ws.url()).hostname));
  const tab1 = await openPage(context, pages.page());
  const tab2 = await openPage(context, pages.page());
  const w1 = widget(tab1);
  const w2 = widget(tab2);
  await w1.open();
  await w2.ready();

  await w1.send('Hello from tab one');
  await w1.waitForMessage('Hello from tab one');
  const s1 = await w1.state();
  assert.ok(Number.isInteger(s1.conversationId), 'a conversation was started');

  // Tab 2 learns about the conversation from storage and subscribes.
  await w2.waitForState(connected);
  await w1.waitForState(connected);
  await w2.open();
  await w2.waitForMessage('Hello from tab one');

  await w2.send('Reply from tab two');
  await w1.waitForMessage('Reply from tab two');

  for (const [w, page] of [[w1, tab1], [w2, tab2]]) {
    const s = await w.state();
    assert.equal(s.realtimeProvider, 'reverb');
    assert.equal(s.realtimeConnected, true);
    assert.equal(s.conversationId, s1.conversationId);
    assert.deepEqual(s.messages.map((m) => m.text), ['Hello from tab one', 'Reply from tab two'], 'same messages, once each, in order');
    assert.ok(page.logs.includes('✓ Laravel Echo loaded'), page.logs.join('\n'));
    assert.ok(page.logs.includes('✓ Reverb real-time connected'));
    assert.ok(page.logs.includes(`✓ Subscribed to real-time channel: chat.conversation.${s1.conversationId} via reverb`));
    assert.deepEqual(page.errors, []);
  }
  // Tab 1 got tab 2's message over the socket (not by polling).
  assert.ok(tab1.logs.includes('✓ New message received via reverb: Reply from tab two'), tab1.logs.join('\n'));
  assert.deepEqual([...hosts], ['127.0.0.1'], 'nothing is fetched from anywhere else (no CDN, no stats)');
  await screenshot(tab1, 'live-tab1');
  await context.close();
});

test('a second device on the same conversation chats live, with typing and reactions', async () => {
  const a = await newContext(browser);
  const pageA = await openPage(a, pages.page());
  const wa = widget(pageA);
  await wa.open();
  await wa.send('I need help with my order');
  await wa.waitForMessage('I need help with my order');
  const stored = await session(pageA);

  // Device B: same conversation, handed over through its storage (as a resumed visitor).
  const b = await newContext(browser);
  await b.addInitScript(([key, value]) => localStorage.setItem(key, value), [stored.key, JSON.stringify(stored.value)]);
  const pageB = await openPage(b, pages.page());
  const wb = widget(pageB);
  await wb.open();
  await wb.waitForMessage('I need help with my order');
  await wb.waitForState(connected);
  await wa.waitForState(connected);

  await wb.send('Order #1234, it has not arrived');
  await wa.waitForMessage('Order #1234, it has not arrived');

  // The agent side's typing whisper (sent here from B's channel, as the dashboard would).
  await pageB.evaluate(() => window.ChatbotWidget.state.channelSubscription.whisper('typing', { typing: true, sender_type: 'agent', name: 'Anna' }));
  await pageA.locator('#parley-chatbot-widget .typing', { hasText: 'Anna is typing' }).waitFor();
  await screenshot(pageA, 'typing');
  await pageB.evaluate(() => window.ChatbotWidget.state.channelSubscription.whisper('typing', { typing: false, sender_type: 'agent' }));
  await pageA.locator('#parley-chatbot-widget .typing .dots').waitFor({ state: 'detached' });

  // B types: whispers go out (at most one per 2 s, then a "stopped"), and A, the same visitor,
  // does not show them as "someone is typing".
  await pageA.evaluate(() => {
    window.__whispers = [];
    window.ChatbotWidget.state.channelSubscription.listenForWhisper('typing', (e) => window.__whispers.push({ at: Date.now(), ...e }));
  });
  await wb.input.pressSequentially('typing quickly');
  await pageA.waitForFunction(() => window.__whispers.length >= 1);
  await wb.input.fill('');
  await pageA.waitForFunction(() => window.__whispers.some((w) => w.typing === false), null, { timeout: 5000 });
  const whispers = await pageA.evaluate(() => window.__whispers);
  assert.deepEqual(whispers.map((w) => [w.typing, w.sender_type]), [[true, 'visitor'], [false, 'visitor']]);
  assert.ok(whispers[1].at - whispers[0].at >= 1900, 'throttled to one per 2 s');
  assert.equal(await pageA.locator('#parley-chatbot-widget .typing .dots').count(), 0);

  // A reaction on A reaches B.
  const msg = wa.message('Order #1234');
  await msg.hover();
  await msg.locator('.addreact').click();
  await msg.locator('.picker button', { hasText: '👍' }).click();
  await msg.locator('.chip', { hasText: '👍 1' }).waitFor();
  await wb.message('Order #1234').locator('.chip', { hasText: '👍 1' }).waitFor();
  assert.equal(await wb.message('Order #1234').locator('.chip').getAttribute('aria-pressed'), 'true', 'the same visitor: it is "mine" there too');
  await screenshot(pageB, 'reactions');

  assert.deepEqual(pageA.errors, []);
  assert.deepEqual(pageB.errors, []);
  await a.close();
  await b.close();
});

test('a reload keeps the conversation and its history', async () => {
  const context = await newContext(browser);
  const page = await openPage(context, pages.page());
  const w = widget(page);
  await w.open();
  for (const text of ['first', 'second', 'third']) {
    await w.send(text);
    await w.waitForMessage(text);
  }
  const before = await w.state();
  await page.reload();
  await w.open();
  await w.waitForMessage('third');
  const afterReload = await w.state();
  assert.equal(afterReload.conversationId, before.conversationId);
  assert.deepEqual(afterReload.messages.map((m) => m.text), ['first', 'second', 'third']);
  assert.deepEqual(afterReload.messages.map((m) => m.id), before.messages.map((m) => m.id));
  await context.close();
});
