// Private notes and labels in the dashboard, with two agents and a visitor:
//   - an agent switches the reply box to "Private note", mentions the other agent with `@` (the
//     team's list box, keyboard only) and adds the note; it shows in the thread as a private
//     note; the other agent, on the inbox, is told at once (a toast that opens the conversation,
//     where the note is); the visitor's widget never shows it.
//   - an admin makes labels in Admin › Labels; an agent's open dashboard follows at once, puts a
//     label on the conversation from the "Labels" menu (keyboard), the chip shows in the header
//     and the inbox row, and the label filter lists only labelled conversations.
// Screenshots at desktop and phone sizes, and the accessibility check.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startParley } from '../../tests/lib/server.mjs';
import { startPages } from '../../tests/lib/pages.mjs';
import { SCREENSHOTS, launch, newContext, openPage, signInWithToken, widget } from '../../tests/lib/browser.mjs';
import { accessibilityProblems } from '../../tests/lib/a11y.mjs';

const ADMIN = { email: 'ada@example.com', name: 'Ada Admin', password: 'correct horse battery' };
let parley, pages, browser, bo;

before(async () => {
  parley = await startParley({ agent: true });
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

async function shot(page, name) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, 'dashboard-' + name + '.png') });
}

async function agentDashboard(token, viewport = { width: 1280, height: 800 }) {
  const context = await newContext(browser, { viewport, ...(viewport.width < 500 ? { isMobile: true, hasTouch: true } : {}) });
  const page = await openPage(context);
  await signInWithToken(page, parley, token);
  return { context, page };
}

async function visitor(text) {
  const context = await newContext(browser);
  const page = await openPage(context, pages.page());
  const w = widget(page);
  await w.open();
  await w.send(text);
  await w.waitForMessage(text);
  return { context, page, w, id: (await w.state()).conversationId };
}

test('a private note mentions another agent, who is told at once; the visitor never sees it', async () => {
  const v = await visitor('My parcel never came');
  const demo = await agentDashboard(parley.agentToken);
  const other = await agentDashboard(bo.token);
  const page = demo.page;
  await page.getByRole('tab', { name: /^Bot/ }).click();
  await page.locator('.convs .conv', { hasText: 'My parcel never came' }).click();
  await page.locator('.messages .msg', { hasText: 'My parcel never came' }).waitFor();

  await page.getByRole('button', { name: 'Private note', exact: true }).click();
  const box = page.getByRole('textbox', { name: 'Private note' });
  await box.focus();
  await page.keyboard.type('Carrier lost it, @Bo');
  const option = page.getByRole('option', { name: /@Bo Bishop/ });
  await option.waitFor();
  await page.keyboard.press('Enter'); // inserts the mention, not the note
  assert.equal(await box.inputValue(), 'Carrier lost it, @Bo Bishop ');
  await page.keyboard.type('can you refund?');
  await shot(page, 'note-mention');
  assert.deepEqual(await accessibilityProblems(page), []);
  await page.keyboard.press('Enter');

  const note = page.locator('.messages .private-note', { hasText: 'can you refund?' });
  await note.waitFor();
  assert.match(await note.textContent(), /Private note/);
  assert.match(await note.textContent(), /Mentions Bo Bishop/);

  // Bo is on the inbox: a toast that opens the conversation, where the note is.
  const toast = other.page.locator('.toast', { hasText: 'mentioned you' });
  await toast.waitFor();
  assert.match(await toast.textContent(), /Demo Agent mentioned you: Carrier lost it, @Bo Bishop can you refund\?/);
  await shot(other.page, 'mentioned');
  await toast.getByRole('button', { name: 'Open' }).click();
  await other.page.locator('.messages .private-note', { hasText: 'can you refund?' }).waitFor();

  // The visitor's widget and its API know nothing of it.
  await v.page.waitForTimeout(500);
  assert.equal(await v.w.message('can you refund?').count(), 0);
  const seen = await v.w.state();
  assert.ok(!JSON.stringify(seen.messages).includes('refund'), 'not in the widget');
  assert.deepEqual(page.errors, []);
  assert.deepEqual(other.page.errors, []);
  await demo.context.close();
  await other.context.close();
  await v.context.close();
});

test('admins make labels; an agent puts one on a conversation and filters the inbox by it', async () => {
  const v = await visitor('Please change my delivery address');
  const agent = await agentDashboard(parley.agentToken);
  const page = agent.page;

  // The admin makes two labels in Admin › Labels (another browser).
  const adminContext = await newContext(browser, { viewport: { width: 1280, height: 800 } });
  const admin = await openPage(adminContext, parley.dashboardUrl);
  await admin.getByLabel('Email').fill(ADMIN.email);
  await admin.getByLabel('Password', { exact: true }).fill(ADMIN.password);
  await admin.getByRole('button', { name: 'Sign in', exact: true }).click();
  await admin.getByRole('button', { name: 'Admin', exact: true }).click();
  const dialog = admin.getByRole('dialog', { name: 'Admin' });
  await dialog.getByRole('tab', { name: 'Labels' }).click();
  const panel = dialog.getByRole('tabpanel', { name: 'Labels' });
  for (const name of ['VIP', 'Billing']) {
    await panel.getByLabel('Label name').fill(name);
    await panel.getByLabel('Label name').press('Enter');
    await panel.getByRole('status').filter({ hasText: 'Label "' + name + '" is made.' }).waitFor();
  }
  await panel.getByLabel('Label name').fill('vip');
  await panel.getByLabel('Label name').press('Enter');
  await panel.getByText('already exists').waitFor();
  await shot(admin, 'admin-labels');
  assert.deepEqual(await accessibilityProblems(admin), []);

  // The agent's open dashboard follows without a reload.
  await page.getByRole('tab', { name: /^Bot/ }).click();
  await page.locator('.convs .conv', { hasText: 'Please change my delivery address' }).click();
  const labels = page.getByRole('button', { name: 'Labels', exact: true });
  await labels.click();
  const vip = page.getByRole('group', { name: 'Labels of this conversation' }).getByLabel('VIP');
  await vip.waitFor();
  await page.keyboard.press('Space'); // the first box (Billing, by name) has the focus
  await page.keyboard.press('Tab');
  await page.keyboard.press('Space'); // VIP
  await page.locator('.conv-labels .label-chips .label-chip', { hasText: 'VIP' }).waitFor();
  await page.keyboard.press('Escape');
  assert.equal(await labels.getAttribute('aria-expanded'), 'false');
  const row = page.locator('.convs .conv', { hasText: 'Please change my delivery address' });
  await row.locator('.label-chip', { hasText: 'VIP' }).waitFor();
  assert.match(await row.locator('.conv-label').textContent(), /labels: Billing, VIP/);
  const saved = await parley.agentApi('GET', '/api/agent/conversations/' + v.id);
  assert.equal(saved.json.conversation.labels.length, 2);

  // Another conversation without labels; the filter shows only the labelled one.
  const other = await visitor('Just saying hi');
  await page.getByLabel('Filter by label').selectOption({ label: 'VIP' });
  await page.waitForFunction(() => document.querySelectorAll('.convs .conv').length === 1);
  assert.equal(await page.locator('.convs .conv', { hasText: 'Please change my delivery address' }).count(), 1);
  await shot(page, 'labels');
  assert.deepEqual(await accessibilityProblems(page), []);
  await page.getByLabel('Filter by label').selectOption({ label: 'All labels' });
  await page.locator('.convs .conv', { hasText: 'Just saying hi' }).waitFor();
  assert.deepEqual(page.errors, []);
  await other.context.close();
  await adminContext.close();
  await agent.context.close();
  await v.context.close();
});

test('notes and labels on a phone', async () => {
  const agent = await agentDashboard(parley.agentToken, { width: 390, height: 844 });
  const page = agent.page;
  await page.getByRole('tab', { name: /^Bot/ }).click();
  await page.locator('.convs .conv', { hasText: 'My parcel never came' }).click();
  await page.locator('.messages .private-note', { hasText: 'can you refund?' }).waitFor();
  await page.getByRole('button', { name: 'Private note', exact: true }).click();
  await shot(page, 'notes-phone');
  assert.deepEqual(await accessibilityProblems(page), []);
  await agent.context.close();
});
