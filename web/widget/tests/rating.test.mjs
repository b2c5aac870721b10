// Rating a closed conversation: the agent closes it, the prompt appears live at the end of the
// thread, a keyboard-only visitor picks a score, writes a comment and sends it; the server has
// it, the widget says thanks (and emits 'rated'), and a reload does not ask again. Also: a
// rating made elsewhere hides the prompt live and after a reload, a failed send can be retried,
// and a 409 (rated already) counts as rated. Screenshots and the accessibility check of the
// prompt at desktop and phone sizes.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startParley } from '../../tests/lib/server.mjs';
import { startPages } from '../../tests/lib/pages.mjs';
import { holdNextRequest, launch, newContext, openPage, widget, screenshot, session, dropFrames } from '../../tests/lib/browser.mjs';
import { accessibilityProblems } from '../../tests/lib/a11y.mjs';

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
const prompt = (page) => page.locator('#parley-chatbot-widget .rate');
const stars = (page) => prompt(page).locator('[role=radio]');

/** What has focus inside the widget: role or tag, and the accessible label. */
const focused = (page) =>
  page.evaluate(() => {
    const el = document.querySelector('#parley-chatbot-widget').shadowRoot.activeElement;
    return el ? { role: el.getAttribute('role') || el.localName, label: el.getAttribute('aria-label') || el.textContent, inRating: !!el.closest('.rate') } : null;
  });

async function chatAndClose(page, text) {
  const w = widget(page);
  await w.open();
  await w.send(text);
  await w.waitForMessage(text);
  await w.waitForState(connected);
  const { conversationId } = await w.state();
  const closed = await parley.agentApi('POST', `/api/agent/conversations/${conversationId}/status`, { body: { status: 'closed' } });
  assert.equal(closed.status, 200, closed.text);
  return { w, conversationId };
}

/** The page has fetched the conversation (rating known) and shows no prompt. */
async function noPromptAfterLoad(page) {
  const w = widget(page);
  await w.open();
  await w.waitForState(() => window.ChatbotWidget.state.conversation?.status === 'closed' && window.ChatbotWidget.state.rating !== undefined);
  await page.waitForTimeout(200); // a render after the fetch
  assert.equal(await prompt(page).isVisible(), false, 'no rating prompt');
}

test('the agent closes the chat, the visitor rates it by keyboard, and is not asked again', async () => {
  const context = await newContext(browser, { viewport: { width: 1280, height: 800 } });
  const page = await openPage(context, pages.page(null, { calls: "ChatbotWidget.on('rated', function (r) { (window.__rated = window.__rated || []).push(r); });" }));
  const { w, conversationId } = await chatAndClose(page, 'My parcel arrived, thanks');

  // Live: the ConversationUpdated event brings the prompt, at the end of the thread.
  await prompt(page).getByText('How was this conversation?').waitFor({ timeout: 10000 });
  assert.equal(await page.evaluate(() => document.querySelector('#parley-chatbot-widget').shadowRoot.querySelector('.list').lastElementChild.className), 'rate');
  assert.deepEqual(await stars(page).evaluateAll((els) => els.map((e) => e.getAttribute('aria-label'))), [
    '1 of 5, Very bad', '2 of 5, Bad', '3 of 5, OK', '4 of 5, Good', '5 of 5, Excellent',
  ]);
  assert.equal(await prompt(page).locator('[role=radiogroup]').getAttribute('aria-labelledby'), 'pw-rate-q');
  assert.equal(await prompt(page).getByLabel('Comment (optional)').getAttribute('maxlength'), '1000');
  await page.waitForFunction(() => document.querySelector('#parley-chatbot-widget').shadowRoot.querySelector('div.sr[aria-live]').textContent === 'How was this conversation?');

  for (const [size, viewport] of [['desktop', { width: 1280, height: 800 }], ['phone', { width: 390, height: 844 }]]) {
    await page.setViewportSize(viewport);
    await page.waitForTimeout(100);
    await screenshot(page, 'rating-prompt-' + size);
    assert.deepEqual(await accessibilityProblems(page), [], 'the rating prompt at ' + size + ' size');
  }
  await page.setViewportSize({ width: 1280, height: 800 });

  // Keyboard only: back from the message box to the scores (one Tab stop for the group).
  await w.input.focus();
  for (let i = 0; i < 12 && (await focused(page))?.role !== 'radio'; i++) await page.keyboard.press('Shift+Tab');
  assert.deepEqual(await focused(page), { role: 'radio', label: '1 of 5, Very bad', inRating: true }, 'the group is entered at its first score');
  for (let i = 0; i < 3; i++) await page.keyboard.press('ArrowRight');
  assert.equal((await focused(page)).label, '4 of 5, Good');
  assert.deepEqual(await stars(page).evaluateAll((els) => els.map((e) => e.getAttribute('aria-checked'))), ['false', 'false', 'false', 'true', 'false']);
  assert.deepEqual(await stars(page).evaluateAll((els) => els.map((e) => e.tabIndex)), [-1, -1, -1, 0, -1], 'roving tabindex');
  await page.keyboard.press('Tab');
  assert.equal((await focused(page)).role, 'textarea');
  await page.keyboard.type('Quick and friendly');
  await screenshot(page, 'rating-chosen');
  await page.keyboard.press('Tab');
  assert.deepEqual(await focused(page), { role: 'button', label: 'Send', inRating: true });
  await page.keyboard.press('Enter');

  await prompt(page).getByText('Thanks for your feedback').waitFor({ timeout: 10000 });
  assert.equal(await stars(page).count(), 0, 'the prompt is gone');
  await page.waitForFunction(() => document.querySelector('#parley-chatbot-widget').shadowRoot.querySelector('div.sr[aria-live]').textContent === 'Thanks for your feedback');
  assert.equal((await focused(page))?.inRating, false, 'focus did not vanish with the Send button');
  await screenshot(page, 'rating-thanks');

  const stored = await parley.agentApi('GET', `/api/agent/conversations/${conversationId}`);
  assert.equal(stored.status, 200, stored.text);
  assert.equal(stored.json.rating.score, 4);
  assert.equal(stored.json.rating.comment, 'Quick and friendly');
  const events = await page.evaluate(() => window.__rated);
  assert.equal(events.length, 1);
  assert.deepEqual([events[0].conversation_id, events[0].score, events[0].comment], [conversationId, 4, 'Quick and friendly']);

  await page.reload();
  await noPromptAfterLoad(page);
  assert.equal(await page.evaluate(() => window.ChatbotWidget.state.rating.score), 4);
  assert.deepEqual(page.errors, []);
  await context.close();
});

test('rated elsewhere: the prompt goes away live and after a reload; a failed send can be retried; 409 counts as rated', async () => {
  const context = await newContext(browser);
  const tabA = await openPage(context, pages.page());
  const { conversationId } = await chatAndClose(tabA, 'Rate me from somewhere else');
  await prompt(tabA).getByText('How was this conversation?').waitFor({ timeout: 10000 });

  // Tab B, the same visitor, never hears ConversationRated (as if the broadcast were lost).
  const tabB = await openPage(context);
  await dropFrames(tabB, (frame) => frame.includes('ConversationRated'));
  await tabB.goto(pages.page());
  const wb = widget(tabB);
  await wb.open();
  await wb.waitForState(connected);
  await prompt(tabB).getByText('How was this conversation?').waitFor({ timeout: 10000 });

  // Another device (here: the API) rates the conversation, while tab A's read of it, made
  // before, is held until the rating's event came: its answer must not bring the prompt back.
  const isRead = (url) => new URL(url).pathname === '/api/chatbot/conversation/' + conversationId && new URL(url).searchParams.has('after');
  const { answer: read, release } = await holdNextRequest(tabA, isRead);
  await tabA.evaluate(() => document.dispatchEvent(new Event('visibilitychange')));
  assert.equal((await read).rating, null, 'the held read saw no rating');
  const { value } = await session(tabA);
  const res = await parley.api('POST', `/api/chatbot/conversation/${conversationId}/rating`, { body: { score: 2 }, visitorToken: value.visitorToken });
  assert.equal(res.status, 201, res.text);
  await prompt(tabA).waitFor({ state: 'hidden', timeout: 10000 });
  await tabA.evaluate(() => {
    window.promptBack = false;
    const root = document.querySelector('#parley-chatbot-widget').shadowRoot;
    new MutationObserver(() => {
      const el = root.querySelector('.rate');
      if (el && !el.hidden) window.promptBack = true;
    }).observe(root, { subtree: true, childList: true, attributes: true, attributeFilter: ['hidden'] });
  });
  // Asked for during the held read, the next read is sent only once the held answer was handled.
  const next = tabA.waitForRequest((req) => isRead(req.url()));
  await tabA.evaluate(() => document.dispatchEvent(new Event('visibilitychange')));
  release();
  await next;
  assert.equal(await tabA.evaluate(() => window.promptBack), false, 'the late answer did not ask again');
  assert.equal(await prompt(tabA).getByText('Thanks for your feedback').count(), 0, 'not this tab\'s rating');

  // Tab B still asks. A server error keeps the form with a message to try again.
  await stars(tabB).nth(4).click();
  await tabB.route('**/rating', (route) => route.fulfill({ status: 500, contentType: 'application/json', body: '{"success":false,"message":"boom"}' }));
  await prompt(tabB).getByRole('button', { name: 'Send' }).click();
  await prompt(tabB).getByRole('alert').getByText('Your feedback was not sent. Please try again.').waitFor();
  assert.equal(await stars(tabB).nth(4).getAttribute('aria-checked'), 'true', 'the choice is kept');
  await tabB.unroute('**/rating');
  // The retry gets 409 (rated already): treated as rated.
  await prompt(tabB).getByRole('button', { name: 'Send' }).click();
  await prompt(tabB).getByText('Thanks for your feedback').waitFor({ timeout: 10000 });
  await tabB.waitForFunction(() => window.ChatbotWidget.state.rating?.score === 2);
  const stored = await parley.agentApi('GET', `/api/agent/conversations/${conversationId}`);
  assert.equal(stored.json.rating.score, 2, 'the first rating stands');

  await tabA.reload();
  await noPromptAfterLoad(tabA);
  assert.deepEqual(tabA.errors, []);
  assert.deepEqual(tabB.errors, []);
  await context.close();
});
