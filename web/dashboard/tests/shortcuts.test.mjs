// Keyboard shortcuts: j / k walk the listed conversations, r and n put the focus in the reply box
// as a reply or a private note, a assigns the open conversation to the agent, x closes it, /
// goes to the search field, ? shows the help (a dialog with every shortcut; Escape closes it and
// the focus returns). Keys typed into a box stay text. Screenshots of the help at desktop and
// phone sizes, with the accessibility check.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startParley } from '../../tests/lib/server.mjs';
import { SCREENSHOTS, launch, newContext, openPage, signInWithToken } from '../../tests/lib/browser.mjs';
import { accessibilityProblems } from '../../tests/lib/a11y.mjs';

let parley, browser;
const ids = [];

before(async () => {
  parley = await startParley({ agent: true });
  browser = await launch();
  for (const text of ['First question', 'Second question']) {
    const started = await parley.api('POST', '/api/chatbot/conversation', { body: { visitor_name: text.split(' ')[0] + ' Visitor' } });
    ids.push(started.json.conversation.id);
    await parley.api('POST', `/api/chatbot/conversation/${started.json.conversation.id}/messages`, { body: { message: text }, visitorToken: started.json.visitor_token });
  }
});

after(async () => {
  await browser?.close();
  await parley?.stop();
});

async function shot(page, name) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, 'dashboard-' + name + '.png') });
}

async function signedIn(viewport) {
  const context = await newContext(browser, { viewport, ...(viewport.width < 500 ? { isMobile: true, hasTouch: true } : {}) });
  const page = await openPage(context);
  await signInWithToken(page, parley);
  await page.waitForFunction(() => window.ParleyDashboard?.state?.inboxLoaded === true, null, { timeout: 20000 });
  return { context, page };
}

/** The focus leaves whatever box has it (as a click on the page's background does). */
const away = (page) => page.evaluate(() => document.activeElement?.blur());
const openId = (page) => page.evaluate(() => window.ParleyDashboard.state.conversationId);
const focused = (page) => page.evaluate(() => document.activeElement?.id || document.activeElement?.getAttribute('aria-label') || document.activeElement?.textContent);

test('the keyboard walks the inbox, replies, notes, assigns, closes and searches', async () => {
  const { context, page } = await signedIn({ width: 1280, height: 800 });
  await page.getByRole('tab', { name: /^Bot/ }).click();
  await page.locator('.convs .conv').nth(1).waitFor();
  await away(page);
  const listed = await page.evaluate(() => [...document.querySelectorAll('.convs .conv')].map((b) => Number(b.dataset.id)));
  assert.deepEqual([...listed].sort(), [...ids].sort());

  await page.keyboard.press('j');
  await page.waitForFunction((id) => window.ParleyDashboard.state.conversationId === id, listed[0]);
  assert.equal(await focused(page), 'pd-conv-title', 'the title, ready for the next key');
  await page.keyboard.press('j');
  await page.waitForFunction((id) => window.ParleyDashboard.state.conversationId === id, listed[1]);
  await page.keyboard.press('j'); // the last one stays open
  assert.equal(await openId(page), listed[1]);
  await page.keyboard.press('k');
  await page.waitForFunction((id) => window.ParleyDashboard.state.conversationId === id, listed[0]);
  // Alt+↓ works from inside the reply box too, and types nothing.
  await page.locator('#pd-reply').focus();
  await page.keyboard.press('Alt+ArrowDown');
  await page.waitForFunction((id) => window.ParleyDashboard.state.conversationId === id, listed[1]);
  await page.keyboard.press('Alt+ArrowUp');
  await page.waitForFunction((id) => window.ParleyDashboard.state.conversationId === id, listed[0]);

  await away(page);
  await page.keyboard.press('n');
  assert.equal(await focused(page), 'pd-reply');
  assert.equal(await page.getByRole('button', { name: 'Private note', exact: true }).getAttribute('aria-pressed'), 'true');
  await page.keyboard.type('jk'); // typed, not shortcuts
  assert.equal(await page.locator('#pd-reply').inputValue(), 'jk');
  assert.equal(await openId(page), listed[0]);
  await page.locator('#pd-reply').fill('');
  await away(page);
  await page.keyboard.press('r');
  assert.equal(await page.getByRole('button', { name: 'Reply', exact: true }).getAttribute('aria-pressed'), 'true');
  assert.equal(await focused(page), 'pd-reply');

  await away(page);
  await page.keyboard.press('a');
  await page.getByRole('button', { name: 'Close', exact: true }).waitFor();
  const me = (await parley.agentApi('GET', '/api/agent/me')).json.agent;
  await waitFor(async () => (await parley.agentApi('GET', '/api/agent/conversations/' + listed[0])).json.conversation.assigned_agent_id === me.id, 'assigned to me');
  await away(page);
  await page.keyboard.press('x');
  await waitFor(async () => (await parley.agentApi('GET', '/api/agent/conversations/' + listed[0])).json.conversation.status === 'closed', 'closed');

  await away(page);
  await page.keyboard.press('/');
  assert.equal(await focused(page), 'pd-search');
  await page.keyboard.type('x'); // text in the search field
  assert.equal(await page.locator('#pd-search').inputValue(), 'x');
  assert.equal((await parley.agentApi('GET', '/api/agent/conversations/' + listed[1])).json.conversation.status, 'bot', 'x typed in a box closes nothing');
  await page.locator('#pd-search').fill('');

  await away(page);
  await page.keyboard.press('?');
  const help = page.getByRole('dialog', { name: 'Keyboard shortcuts' });
  await help.waitFor();
  assert.equal(await help.locator('tbody tr').count(), 8);
  await shot(page, 'shortcuts');
  assert.deepEqual(await accessibilityProblems(page), []);
  await page.keyboard.press('Escape');
  await help.waitFor({ state: 'hidden' });
  assert.deepEqual(page.errors, []);
  await context.close();
});

test('the shortcuts help on a phone', async () => {
  const { context, page } = await signedIn({ width: 390, height: 844 });
  await away(page);
  await page.keyboard.press('?');
  await page.getByRole('dialog', { name: 'Keyboard shortcuts' }).waitFor();
  await shot(page, 'shortcuts-phone');
  assert.deepEqual(await accessibilityProblems(page), []);
  await context.close();
});

async function waitFor(check, what, ms = 10000) {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error('timed out waiting for ' + what);
    await new Promise((r) => setTimeout(r, 100));
  }
}
