// Automatic assignment and transfers in the dashboard, with an admin, two agents and visitors:
//   - the admin turns on round-robin with one open conversation per agent in the widget
//     editor's "Automatic assignment" part (a wrong capacity is refused beside the form, with the
//     focus on it), saved as settings.assignment;
//   - both agents go online; Bo already has a conversation, so a visitor's handoff goes at once
//     to the free agent, whose Mine tab shows it live with a notice that opens it;
//   - that agent transfers it to Bo from the conversation header (keyboard only: Transfer, the
//     agent picker, a note), Bo is told at once with the note, which shows in the thread as a
//     private note; the visitor never sees it; Escape closes the dialog with the focus back on
//     Transfer.
// Screenshots at desktop and phone sizes, and the accessibility check.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startParley } from '../../tests/lib/server.mjs';
import { startPages } from '../../tests/lib/pages.mjs';
import { SCREENSHOTS, launch, newContext, openPage, widget } from '../../tests/lib/browser.mjs';
import { accessibilityProblems } from '../../tests/lib/a11y.mjs';

const ADMIN = { email: 'ann@example.com', name: 'Ann Admin', password: 'correct horse battery' };
let parley, pages, browser, bo;

before(async () => {
  // The built-in bot answers, and hands off when asked for a person.
  parley = await startParley({ agent: true, env: { PARLEY_BOT_WORKER: 'true' } });
  pages = await startPages(parley);
  browser = await launch();
  bo = JSON.parse(await parley.cli(['agent', 'create', '--name', 'Bo Bishop', '--email', 'bo@example.com', '--json']));
  await parley.cli(['admin', 'create', '--email', ADMIN.email, '--name', ADMIN.name], { input: ADMIN.password + '\n' });
});

after(async () => {
  await browser?.close();
  await pages?.stop();
  await parley?.stop();
});

async function shot(page, name, fullPage = false) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, 'dashboard-' + name + '.png'), fullPage });
}

const phone = { width: 390, height: 844 };

async function newPage(viewport) {
  const context = await newContext(browser, { viewport, ...(viewport.width < 500 ? { isMobile: true, hasTouch: true } : {}) });
  return { context, page: await openPage(context, parley.dashboardUrl) };
}

/** An agent's dashboard, signed in with their token, set Online. */
async function agentDashboard(token, viewport = { width: 1280, height: 800 }) {
  const { context, page } = await newPage(viewport);
  await page.getByRole('button', { name: 'Use an API token instead' }).click();
  await page.getByLabel('Agent token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForFunction(() => window.ParleyDashboard?.state?.agentsLive === true, null, { timeout: 20000 });
  await page.getByRole('radio', { name: 'Online', exact: true }).check();
  await page.waitForFunction(() => window.ParleyDashboard?.state?.agent?.availability === 'online', null, { timeout: 10000 });
  return { context, page };
}

async function visitor(name) {
  const context = await newContext(browser);
  const page = await openPage(context, pages.page({ visitorName: name }));
  const w = widget(page);
  await w.open();
  return { context, page, w };
}

async function settingsOf(page, name) {
  const all = await page.evaluate(() => fetch('/api/admin/widgets').then((r) => r.json()));
  return all.widgets.find((w) => w.name === name).settings;
}

test('the admin turns on round-robin with a capacity in the widget editor', async () => {
  const { context, page } = await newPage({ width: 1280, height: 800 });
  await page.getByLabel('Email').fill(ADMIN.email);
  await page.getByLabel('Password', { exact: true }).fill(ADMIN.password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('button', { name: 'Admin', exact: true }).click();
  const dialog = page.getByRole('dialog', { name: 'Admin' });
  await dialog.getByRole('tab', { name: 'Widgets' }).click();
  const panel = dialog.getByRole('tabpanel', { name: 'Widgets' });
  const item = panel.locator('.adm-item', { hasText: 'Demo' }).first();
  await item.getByRole('button', { name: 'Edit Demo' }).click();

  const mode = item.getByLabel('Assign conversations');
  assert.equal(await mode.inputValue(), 'off', 'off until an admin turns it on');
  await mode.focus();
  await mode.selectOption('round_robin');
  const capacity = item.getByLabel('Open conversations per agent');
  await capacity.focus();
  await page.keyboard.type('0');
  await item.getByRole('button', { name: 'Save' }).click();
  await item.getByText('Open conversations per agent: a whole number from 1 to 100').waitFor();
  assert.equal(await page.evaluate(() => document.activeElement?.id), await capacity.getAttribute('id'));
  await page.keyboard.press('Backspace');
  await page.keyboard.type('1');
  await shot(page, 'admin-assignment', true);
  assert.deepEqual(await accessibilityProblems(page), []);
  await item.getByRole('button', { name: 'Save' }).click();
  await panel.getByRole('status').filter({ hasText: 'Widget "Demo" is saved.' }).waitFor();
  const saved = await settingsOf(page, 'Demo');
  assert.deepEqual(saved.assignment, { mode: 'round_robin', capacity: 1, unassign_after_mins: null });
  assert.ok(saved.bot, 'the rest of the settings kept');
  assert.deepEqual(page.errors, []);
  await context.close();
});

test('a handoff goes at once to the free agent, live in their Mine tab; a transfer with a note reaches Bo', async () => {
  const demo = await agentDashboard(parley.agentToken);
  const other = await agentDashboard(bo.token);

  // Bo already has a conversation (capacity 1): he is full.
  const first = await visitor('Fay');
  await first.w.send('Hello there');
  await first.w.waitForMessage('Hello there');
  const busyId = (await first.w.state()).conversationId;
  const taken = await parley.agentApi('POST', '/api/agent/conversations/' + busyId + '/assign', { body: {}, agentToken: bo.token });
  assert.equal(taken.status, 200, taken.text);

  // A visitor asks for a person: the bot hands over and the free agent gets it at once.
  const v = await visitor('Vera');
  await v.w.send('I want to talk to a human please');
  await v.w.waitForMessage('I want to talk to a human please');
  const id = (await v.w.state()).conversationId;
  const page = demo.page;
  const notice = page.locator('.toast', { hasText: 'Vera is assigned to you.' });
  await notice.waitFor({ timeout: 20000 });
  const mine = page.getByRole('tab', { name: /^Mine/ });
  await mine.click();
  const row = page.locator('.convs .conv', { hasText: 'Vera' });
  await row.waitFor();
  const stored = await parley.agentApi('GET', '/api/agent/conversations/' + id);
  const me = await parley.agentApi('GET', '/api/agent/me');
  assert.equal(stored.json.conversation.assigned_agent_id, me.json.agent.id);
  await shot(page, 'assigned');
  assert.deepEqual(await accessibilityProblems(page), []);
  await notice.getByRole('button', { name: 'Open' }).click();
  await page.locator('.messages .msg', { hasText: 'I want to talk to a human please' }).waitFor();

  // Escape closes the Transfer dialog, the focus back on the button.
  const transfer = page.getByRole('button', { name: 'Transfer', exact: true });
  await transfer.focus();
  await page.keyboard.press('Enter');
  const dialog = page.getByRole('dialog', { name: 'Transfer the conversation' });
  await dialog.waitFor();
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'hidden' });
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Transfer');

  // From the keyboard: Transfer, Bo (full, but a person decides), a note.
  await page.keyboard.press('Enter');
  await dialog.waitFor();
  const choice = dialog.getByRole('radio', { name: /Bo Bishop/ });
  assert.equal(await choice.isChecked(), true, 'the only other agent is chosen');
  assert.match(await dialog.locator('label', { hasText: 'Bo Bishop' }).textContent(), /online, 1 of 1 open/);
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('type')), 'radio');
  await page.keyboard.press('Tab');
  await page.keyboard.type('Wants a refund for the blue lamp, over to you');
  await shot(page, 'transfer');
  assert.deepEqual(await accessibilityProblems(page), []);
  await page.keyboard.press('Tab'); // Cancel
  await page.keyboard.press('Tab'); // Transfer
  await page.keyboard.press('Enter');
  await dialog.waitFor({ state: 'hidden' });
  const note = page.locator('.messages .private-note', { hasText: 'Wants a refund for the blue lamp' });
  await note.waitFor();
  assert.match(await note.textContent(), /Mentions Bo Bishop/);
  await page.getByRole('tab', { name: /^Mine/ }).click();
  await page.waitForFunction(() => ![...document.querySelectorAll('.convs .conv')].some((r) => r.textContent.includes('Vera')));

  // Bo is told at once, with the note; the conversation is in his Mine tab and opens on the note.
  const told = other.page.locator('.toast', { hasText: 'transferred Vera to you' });
  await told.waitFor();
  assert.match(await told.textContent(), /Demo Agent transferred Vera to you: Wants a refund for the blue lamp, over to you/);
  await other.page.getByRole('tab', { name: /^Mine/ }).click();
  await other.page.locator('.convs .conv', { hasText: 'Vera' }).waitFor();
  await shot(other.page, 'transferred');
  await told.getByRole('button', { name: 'Open' }).click();
  await other.page.locator('.messages .private-note', { hasText: 'Wants a refund for the blue lamp' }).waitFor();
  const after = await parley.agentApi('GET', '/api/agent/conversations/' + id, { agentToken: bo.token });
  assert.equal(after.json.conversation.assigned_agent_id, bo.id);

  // The visitor's widget knows nothing of the note.
  await v.page.waitForTimeout(500);
  assert.equal(await v.w.message('blue lamp').count(), 0);
  assert.ok(!JSON.stringify((await v.w.state()).messages).includes('blue lamp'));
  assert.deepEqual(page.errors, []);
  assert.deepEqual(other.page.errors, []);
  for (const c of [demo, other, first, v]) await c.context.close();
});

test('the Transfer dialog on a phone', async () => {
  const agent = await agentDashboard(bo.token, phone);
  const page = agent.page;
  await page.getByRole('tab', { name: /^Mine/ }).click();
  await page.locator('.convs .conv', { hasText: 'Vera' }).click();
  await page.locator('.messages .private-note', { hasText: 'blue lamp' }).waitFor();
  await page.getByRole('button', { name: 'Transfer', exact: true }).click();
  const dialog = page.getByRole('dialog', { name: 'Transfer the conversation' });
  await dialog.getByRole('radio', { name: /Demo Agent/ }).waitFor();
  await shot(page, 'transfer-phone');
  assert.deepEqual(await accessibilityProblems(page), []);
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await dialog.waitFor({ state: 'hidden' });
  assert.deepEqual(page.errors, []);
  await agent.context.close();
});
