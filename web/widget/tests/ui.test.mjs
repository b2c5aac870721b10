// What a visitor (and a screen-reader or keyboard user) gets: the pre-load API stub, keyboard
// use (focus in and out, Enter / Shift+Enter, Esc), ARIA, host-page CSS isolation, colours and
// position from settings, full screen on a phone, and what the other side causes (read receipt,
// bot typing, hand-off to an agent, an agent's reply raising the unread badge and the title).

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

const active = (page) => page.evaluate(() => {
  const el = document.querySelector('#parley-chatbot-widget').shadowRoot.activeElement;
  return el ? el.tagName.toLowerCase() + (el.className ? '.' + el.className : '') : null;
});

test('calls queued on the stub before the script loads are replayed', async () => {
  const context = await newContext(browser);
  const page = await openPage(context, pages.page(null, {
    calls: "ChatbotWidget.on('open', function () { window.__opened = (window.__opened || 0) + 1; }); ChatbotWidget.open();",
  }));
  const w = widget(page);
  await w.ready();
  await w.panel.waitFor({ state: 'visible' });
  assert.equal(await page.evaluate(() => window.__opened), 1);
  assert.equal(await page.evaluate(() => typeof window.ChatbotWidget.state.messages), 'object');
  assert.equal(await page.evaluate(() => 'q' in window.ChatbotWidget), false, 'the queue was drained');
  await context.close();
});

test('keyboard and screen-reader use', async () => {
  const context = await newContext(browser);
  const page = await openPage(context, pages.page());
  const w = widget(page);
  await w.ready();
  await w.launcher.focus();
  await page.keyboard.press('Enter');
  await w.panel.waitFor({ state: 'visible' });
  assert.equal(await active(page), 'textarea', 'focus moved into the panel');
  assert.equal(await w.launcher.getAttribute('aria-expanded'), 'true');
  assert.equal(await w.panel.getAttribute('role'), 'dialog');
  assert.equal(await page.locator('#parley-chatbot-widget [aria-live=polite][aria-atomic=true]').count(), 1, 'a live region');

  await page.keyboard.type('line one');
  await page.keyboard.press('Shift+Enter');
  await page.keyboard.type('line two');
  await page.keyboard.press('Enter');
  await w.waitForMessage('line two');
  assert.equal(await w.message('line two').locator('.bubble').textContent(), 'line one\nline two');
  assert.equal(await w.input.inputValue(), '', 'Enter sent and cleared it');

  await page.keyboard.press('Escape');
  await w.panel.waitFor({ state: 'hidden' });
  assert.equal(await active(page), 'button.launcher', 'focus went back to the launcher');
  assert.equal(await w.launcher.getAttribute('aria-expanded'), 'false');
  await context.close();
});

test('the host page CSS does not leak in; colours and position come from settings', async () => {
  const context = await newContext(browser);
  const page = await openPage(context);
  await page.route('**/api/chatbot/config', async (route) => {
    const res = await route.fetch();
    const json = await res.json();
    json.widget.display_name = 'Northwind Help'; // what visitors see (the widget's own name is the team's)
    json.widget.settings = { ...json.widget.settings, position: 'left', colors: { primary: '#15803d' } };
    await route.fulfill({ response: res, json });
  });
  await page.goto(pages.page());
  const w = widget(page);
  await w.open();
  await page.locator('#parley-chatbot-widget h2', { hasText: 'Northwind Help' }).waitFor();
  const launcher = await w.launcher.evaluate((el) => {
    const cs = getComputedStyle(el);
    return { bg: cs.backgroundColor, font: cs.fontSize, left: el.getBoundingClientRect().left };
  });
  assert.equal(launcher.bg, 'rgb(21, 128, 61)', 'settings colour, not the page\'s "button {background: #8b0000 !important}"');
  assert.notEqual(launcher.font, '22px');
  assert.ok(launcher.left < 100, 'on the left');
  await screenshot(page, 'settings-left-green');
  await context.close();
});

test('full screen on a narrow phone', async () => {
  const context = await newContext(browser, { viewport: { width: 375, height: 667 }, isMobile: true, hasTouch: true });
  const page = await openPage(context, pages.page());
  const w = widget(page);
  await w.open();
  await w.send('Hello from my phone');
  await w.waitForMessage('Hello from my phone');
  const box = await w.panel.boundingBox();
  assert.deepEqual([box.x, box.y, box.width, box.height], [0, 0, 375, 667]);
  await screenshot(page, 'mobile');
  await page.locator('#parley-chatbot-widget .head button').click();
  await w.launcher.waitFor({ state: 'visible' });
  await context.close();
});

test('what the other side causes: seen, bot typing, hand-off, unread badge and title', async () => {
  const context = await newContext(browser);
  const page = await openPage(context, pages.page());
  const w = widget(page);
  await w.open();
  await w.send('Where is my parcel?');
  await w.waitForMessage('Where is my parcel?');
  await w.waitForState(() => window.ChatbotWidget.state.realtimeConnected);
  const { value } = await session(page);
  const id = value.conversationId;
  const channel = `private-chat.conversation.${id}`;
  const [mine] = (await w.state()).messages;

  await parley.publish(channel, 'MessageRead', { conversation_id: id, reader: 'agent', last_read_id: mine.id });
  await w.message('Where is my parcel?').locator('.note.seen', { hasText: 'Seen' }).waitFor();

  await parley.publish(channel, 'BotTyping', { typing: true });
  await page.locator('#parley-chatbot-widget .typing', { hasText: 'Assistant is typing' }).waitFor();
  await parley.publish(channel, 'BotTyping', { typing: false });
  await page.locator('#parley-chatbot-widget .typing .dots').waitFor({ state: 'detached' });

  await parley.publish(channel, 'ConversationUpdated', { id, status: 'human', assigned_agent_id: 7 });
  await page.locator('#parley-chatbot-widget .status', { hasText: 'You are chatting with an agent' }).waitFor();

  // The agent answers while the panel is closed and the tab hidden: badge, title, event.
  await page.keyboard.press('Escape');
  await page.evaluate(() => {
    window.__unread = [];
    window.ChatbotWidget.on('unread', (n) => window.__unread.push(n));
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => true });
    document.dispatchEvent(new Event('visibilitychange'));
  });
  const title = await page.title();
  // The last step: a made-up id the store does not have (the real agent API would store it).
  await parley.publish(channel, 'ChatMessageReceived', {
    id: mine.id + 1000, conversation_id: id, sender_type: 'agent', sender_name: 'Anna', message: 'It ships <b>today</b>!',
    attachment_path: null, attachment_name: null, is_voice: false, timestamp: new Date().toISOString(), client_id: null,
  });
  await w.badge.filter({ hasText: '1' }).waitFor();
  assert.equal(await page.title(), '(1) New message · ' + title);
  assert.deepEqual(await page.evaluate(() => window.__unread), [1]);
  assert.match(await w.launcher.getAttribute('aria-label'), /1 unread/);
  await screenshot(page, 'unread-badge');

  await page.evaluate(() => {
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => false });
    document.dispatchEvent(new Event('visibilitychange'));
  });
  assert.equal(await page.title(), title, 'title restored');
  await w.launcher.click();
  const agentMsg = w.message('It ships');
  await agentMsg.waitFor();
  assert.equal(await agentMsg.locator('.meta b').textContent(), 'Anna');
  assert.equal(await agentMsg.locator('.bubble').textContent(), 'It ships <b>today</b>!');
  assert.ok(await agentMsg.evaluate((el) => el.classList.contains('agent')));
  await w.badge.waitFor({ state: 'hidden' });
  await screenshot(page, 'agent-reply');
  assert.deepEqual(page.errors, []);
  await context.close();
});
