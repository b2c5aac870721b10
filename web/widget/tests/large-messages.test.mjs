// Messages too large for one realtime event (over 10 KB of JSON: 2,600 emoji, or text that JSON
// escaping doubles): the server announces them by id only (`truncated`), and the widget and the
// agents' dashboard fetch them, so both still show them live.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startParley } from '../../tests/lib/server.mjs';
import { startPages } from '../../tests/lib/pages.mjs';
import { launch, newContext, openPage, screenshot, widget, session } from '../../tests/lib/browser.mjs';

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

const connected = () => window.ChatbotWidget?.state?.realtimeConnected === true;
const EMOJI = '😀'.repeat(2600);

test('a message too large for one event shows live on the widget and the dashboard', async () => {
  const agentContext = await newContext(browser);
  const page = await openPage(agentContext);
  await page.goto(parley.dashboardUrl);
  await page.getByLabel('Agent token').fill(parley.agentToken);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForFunction(() => window.ParleyDashboard?.state?.agentsLive === true, null, { timeout: 20000 });
  await page.getByRole('tab', { name: /^Bot/ }).click();
  const row = (text) => page.locator('.convs .conv', { hasText: text });

  const visitorContext = await newContext(browser);
  const visitorPage = await openPage(visitorContext, pages.page());
  const w = widget(visitorPage);
  await w.open();
  await w.send('Hello, a long one is coming');
  await w.waitForMessage('Hello, a long one is coming');
  await w.waitForState(connected);
  const { conversationId } = await w.state();
  const { visitorToken } = (await session(visitorPage)).value;
  await row('Hello, a long one is coming').click();
  await page.waitForFunction(
    (id) => window.ParleyDashboard.state.conversationLive && window.ParleyDashboard.state.conversationId === id,
    conversationId,
  );

  const widgetHas = (text) => visitorPage.waitForFunction((t) => window.ChatbotWidget.state.messages.some((m) => m.message === t), text, { timeout: 15000 });
  const dashboardHas = (text) => page.waitForFunction((t) => window.ParleyDashboard.state.messages.some((m) => m.message === t && !m.pending), text, { timeout: 15000 });

  // From the visitor (another tab of theirs, as far as this widget knows): both sides show it.
  const fromVisitor = 'VISITOR-BIG ' + EMOJI;
  const sent = await parley.api('POST', `/api/chatbot/conversation/${conversationId}/messages`, {
    visitorToken,
    body: { message: fromVisitor, client_id: 'big-visitor' },
  });
  assert.equal(sent.status, 201, sent.text);
  await widgetHas(fromVisitor);
  await dashboardHas(fromVisitor);
  await row('VISITOR-BIG').waitFor();

  // From the agent, through the API (not this dashboard): both sides show it.
  const fromAgent = 'AGENT-BIG ' + EMOJI;
  const replied = await parley.agentApi('POST', `/api/agent/conversations/${conversationId}/messages`, {
    body: { message: fromAgent, client_id: 'big-agent' },
  });
  assert.equal(replied.status, 201, replied.text);
  await widgetHas(fromAgent);
  await dashboardHas(fromAgent);

  // Seen, at desktop and phone size: the long bubbles wrap inside both views, nothing scrolls
  // sideways.
  for (const [who, view] of [['widget', visitorPage], ['dashboard', page]]) {
    const original = view.viewportSize();
    for (const [size, viewport] of [['desktop', { width: 1280, height: 800 }], ['phone', { width: 390, height: 844 }]]) {
      await view.setViewportSize(viewport);
      const overflow = await view.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `${who} at ${size} scrolls sideways by ${overflow}px`);
      await screenshot(view, `large-message-${who}-${size}`);
    }
    await view.setViewportSize(original);
  }

  // Another conversation, not open: its inbox row shows the long message's preview. Quotes and
  // backslashes take two bytes each once escaped.
  const other = await parley.api('POST', '/api/chatbot/conversation', { body: { visitor_name: 'Quinn' } });
  assert.equal(other.status, 201, other.text);
  const otherToken = other.json.visitor_token;
  const otherId = other.json.conversation.id;
  const quotes = 'QUOTES-BIG ' + '"\\'.repeat(2490);
  const posted = await parley.api('POST', `/api/chatbot/conversation/${otherId}/messages`, {
    visitorToken: otherToken,
    body: { message: quotes, client_id: 'big-quotes' },
  });
  assert.equal(posted.status, 201, posted.text);
  await row('Quinn').filter({ hasText: 'QUOTES-BIG' }).waitFor({ timeout: 15000 });

  // Live all along: nothing came by polling.
  assert.equal((await w.state()).realtimeConnected, true);
  assert.equal(await page.evaluate(() => window.ParleyDashboard.state.conversationLive), true);
  const shown = (await w.state()).messages.map((m) => m.text);
  for (const text of [fromVisitor, fromAgent]) assert.equal(shown.filter((t) => t === text).length, 1, 'once on the widget');
  const listed = (await page.evaluate(() => window.ParleyDashboard.state.messages)).map((m) => m.message);
  for (const text of [fromVisitor, fromAgent]) assert.equal(listed.filter((t) => t === text).length, 1, 'once on the dashboard');
  assert.deepEqual(page.errors, []);
  assert.deepEqual(visitorPage.errors, []);
  await visitorContext.close();
  await agentContext.close();
});
