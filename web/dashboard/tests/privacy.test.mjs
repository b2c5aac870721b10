// The Admin area's Privacy panel against the real server: a visitor (who gave an email) chats
// with a file on a site; an agent has the conversation open in another dashboard. The admin
// exports what is stored about the visitor (a JSON file is saved, and the panel lists the
// conversation), then erases it: the open conversation closes in the agent's dashboard and
// leaves both inboxes, the visitor's widget says it was deleted and starts afresh, and nothing
// is left to export. Also: the widget editor's retention (days) is saved as
// settings.retention_days and refused outside 1-3650; the panel is walked with the keyboard
// alone; and it is photographed at desktop and phone size and passes the accessibility check.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startParley } from '../../tests/lib/server.mjs';
import { startPages } from '../../tests/lib/pages.mjs';
import { SCREENSHOTS, launch, newContext, openPage, widget } from '../../tests/lib/browser.mjs';
import { accessibilityProblems } from '../../tests/lib/a11y.mjs';

const ADMIN = { email: 'ada@example.com', name: 'Ada Admin', password: 'correct horse battery' };
const AGENT = { email: 'bo@example.com', name: 'Bo Agent', password: 'a long enough password' };
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c63f80f000101010018dd8db00000000049454e44ae426082', 'hex');

let parley, pages, browser, adminContext, adminPage;

before(async () => {
  parley = await startParley();
  pages = await startPages(parley);
  browser = await launch();
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

const live = (page) => page.waitForFunction(() => window.ParleyDashboard?.state?.agentsLive === true, null, { timeout: 20000 });

async function signIn(page, { email, password }) {
  await page.goto(parley.dashboardUrl);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await live(page);
}

/** The Admin area's tab `tab`, opened. */
async function adminTab(page, tab) {
  const dialog = page.getByRole('dialog', { name: 'Admin' });
  if (!(await dialog.isVisible())) await page.getByRole('button', { name: 'Admin', exact: true }).click();
  await dialog.getByRole('tab', { name: tab }).click();
  const panel = dialog.getByRole('tabpanel', { name: tab });
  await panel.waitFor();
  return panel;
}

/** Invites `who` as an agent and has them set a password in their own browser: their page. */
async function agentPage(who) {
  const team = await adminTab(adminPage, 'Team');
  await team.getByLabel('Email').fill(who.email);
  await team.getByLabel('Name (optional)').fill(who.name);
  await team.getByRole('button', { name: 'Invite', exact: true }).click();
  const link = await team.getByLabel('Invitation link', { exact: true }).inputValue();
  await adminPage.keyboard.press('Escape');
  const context = await newContext(browser, { viewport: DESKTOP });
  const page = await openPage(context);
  await page.goto(link);
  await page.getByLabel('Password', { exact: true }).fill(who.password);
  await page.getByLabel('Password again').fill(who.password);
  await page.getByRole('button', { name: 'Set password and sign in' }).click();
  await live(page);
  return page;
}

/** The test page as a visitor who gave `name` and `email` (set through the page's stub). */
const visitorPage = (name, email) => pages.page(null, { calls: 'ChatbotWidget.setUser(' + JSON.stringify({ name, email }) + ');' });

/** A dashboard opens conversation `id` and shows `text` in it. */
async function openConversation(page, id, text) {
  await page.evaluate((hash) => {
    location.hash = hash;
  }, '#/c/' + id);
  await page.locator('.messages .msg:not(.pending) .bubble', { hasText: text }).first().waitFor();
}

test('an admin exports what is stored about a visitor, then erases it: open dashboards and the widget drop the conversation', async () => {
  adminContext = await newContext(browser, { viewport: DESKTOP, acceptDownloads: true });
  adminPage = await openPage(adminContext);
  adminPage.on('dialog', (d) => d.accept());
  await signIn(adminPage, ADMIN);
  const bo = await agentPage(AGENT);

  // The visitor chats, with a picture.
  const visitorContext = await newContext(browser);
  const visitor = await openPage(visitorContext, visitorPage('Vera Visitor', 'Vera@Example.com'));
  const w = widget(visitor);
  await w.open();
  await w.send('Hello, this is Vera');
  await w.waitForMessage('Hello, this is Vera');
  await visitor.locator('#parley-chatbot-widget .composer input[type=file]').setInputFiles({ name: 'receipt.png', mimeType: 'image/png', buffer: PNG });
  await visitor.waitForFunction(() => window.ChatbotWidget.state.messages.some((m) => m.attachment_name === 'receipt.png' && !m._pending), null, { timeout: 15000 });
  const { conversationId: id } = await w.state();
  assert.ok(Number.isSafeInteger(id));

  // Bo has it open; the admin's inbox lists it (the bot has it).
  await openConversation(bo, id, 'Hello, this is Vera');
  await adminPage.locator('.tabs [data-tab="bot"], [role=tab][data-tab="bot"]').first().click();
  await adminPage.locator('.convs .conv[data-id="' + id + '"]').waitFor();

  // Export by email, in another case: the file is saved and the panel lists the conversation.
  const panel = await adminTab(adminPage, 'Privacy');
  assert.equal(await panel.getByLabel('Find by').inputValue(), 'email');
  await panel.getByLabel('Email the visitor gave').fill('vera@EXAMPLE.com');
  const [download] = await Promise.all([adminPage.waitForEvent('download'), panel.getByRole('button', { name: 'Export', exact: true }).click()]);
  assert.match(download.suggestedFilename(), /^parley-export-vera@example\.com-\d{4}-\d\d-\d\d\.json$/);
  const saved = JSON.parse(readFileSync(await download.path(), 'utf8'));
  assert.equal(saved.conversations.length, 1);
  assert.equal(saved.conversations[0].conversation.id, id);
  assert.equal(saved.conversations[0].conversation.visitor_email, 'Vera@Example.com');
  assert.ok(saved.conversations[0].messages.some((m) => m.message === 'Hello, this is Vera'));
  assert.equal(saved.conversations[0].attachments[0].original_name, 'receipt.png');
  await panel.getByRole('status').filter({ hasText: '1 conversation, 2 messages, 1 file' }).waitFor();
  await panel.locator('.adm-item[data-conversation-id="' + id + '"]').waitFor();

  // Erase: the question says how much (the test says yes), then the counts.
  const asked = [];
  adminPage.once('dialog', (d) => asked.push(d.message()));
  await panel.getByRole('button', { name: 'Erase…' }).click();
  await panel.getByRole('status').filter({ hasText: 'Erased 1 conversation of vera@EXAMPLE.com: 2 messages, 1 file removed.' }).waitFor();
  assert.match(asked[0] || '', /1 conversation, 2 messages, 1 file\? This cannot be undone\./);

  // Bo's open conversation closes, with the reason; it leaves both inboxes.
  await bo.locator('.toast', { hasText: 'Conversation #' + id + ' was erased.' }).waitFor();
  await bo.waitForFunction(() => !/#\/c\//.test(location.hash));
  await bo.locator('.convs .conv[data-id="' + id + '"]').waitFor({ state: 'detached' });
  await adminPage.locator('.convs .conv[data-id="' + id + '"]').waitFor({ state: 'detached' });

  // The widget says so and starts afresh: the next message is a new conversation.
  await visitor.locator('#parley-chatbot-widget', { hasText: 'This conversation was deleted.' }).waitFor();
  await w.waitForState(() => window.ChatbotWidget.state.conversationId == null);
  assert.equal(await w.message('Hello, this is Vera').count(), 0, 'the erased messages are gone from the widget');
  await w.send('Me again');
  await w.waitForMessage('Me again');
  const again = await w.state();
  assert.ok(again.conversationId > id, 'a new conversation');

  // Nothing left about her but the new conversation; the audit log has it without her email.
  const left = await adminPage.evaluate(() => fetch('/api/admin/visitors/export?email=vera%40example.com').then((r) => r.json()));
  assert.deepEqual(left.conversations.map((c) => c.conversation.id), [again.conversationId]);
  const audit = await adminPage.evaluate(() => fetch('/api/admin/audit').then((r) => r.json()));
  const entry = audit.entries.find((e) => e.action === 'visitor.erase');
  assert.deepEqual(entry.detail.conversations, [id]);
  assert.doesNotMatch(JSON.stringify(audit), /vera@/i);

  // Nothing found is said, and no file is saved.
  await panel.getByLabel('Email the visitor gave').fill('nobody@example.com');
  await panel.getByRole('button', { name: 'Export', exact: true }).click();
  await panel.getByText('Nothing is stored about nobody@example.com.').waitFor();

  assert.deepEqual(adminPage.errors, []);
  assert.deepEqual(bo.errors, []);
  assert.deepEqual(visitor.errors, []);
  await bo.context().close();
  await visitorContext.close();
});

test('the widget editor keeps conversations for a number of days (settings.retention_days), 1 to 3650', async () => {
  const panel = await adminTab(adminPage, 'Widgets');
  const item = panel.locator('.adm-item').first();
  const name = (await item.locator('.adm-head b').textContent()).trim();
  await item.getByRole('button', { name: 'Edit ' + name }).click();
  const days = item.getByLabel('Delete conversations after (days)');
  const save = async () => {
    const [answer] = await Promise.all([
      adminPage.waitForResponse((r) => r.request().method() === 'PATCH' && r.url().includes('/api/admin/widgets/')),
      item.getByRole('button', { name: 'Save', exact: true }).click(),
    ]);
    return answer.status();
  };
  await days.fill('30');
  assert.equal(await save(), 200);
  const widgetSettings = async () => (await adminPage.evaluate(() => fetch('/api/admin/widgets').then((r) => r.json()))).widgets.find((w) => w.name === name).settings;
  assert.equal((await widgetSettings()).retention_days, 30);

  await panel.locator('.adm-item', { hasText: name }).getByRole('button', { name: 'Edit ' + name }).click();
  const again = panel.locator('.adm-item', { hasText: name });
  assert.equal(await again.getByLabel('Delete conversations after (days)').inputValue(), '30', 'the editor shows it');
  await again.getByLabel('Delete conversations after (days)').fill('5000');
  await again.getByRole('button', { name: 'Save', exact: true }).click();
  await again.getByRole('alert').filter({ hasText: 'from 1 to 3650' }).waitFor();
  assert.equal((await widgetSettings()).retention_days, 30, 'nothing saved');
  await again.getByLabel('Delete conversations after (days)').fill('');
  const [answer] = await Promise.all([
    adminPage.waitForResponse((r) => r.request().method() === 'PATCH' && r.url().includes('/api/admin/widgets/')),
    again.getByRole('button', { name: 'Save', exact: true }).click(),
  ]);
  assert.equal(answer.status(), 200);
  assert.equal('retention_days' in (await widgetSettings()), false, 'empty keeps conversations');
  assert.deepEqual(adminPage.errors, []);
});

test('the keyboard alone finds and erases a visitor by conversation number; screenshots and an accessibility check of the Privacy panel', async () => {
  const page = adminPage;
  // A visitor to erase.
  const visitorContext = await newContext(browser);
  const visitor = await openPage(visitorContext, visitorPage('Kim', 'kim@example.com'));
  const w = widget(visitor);
  await w.open();
  await w.send('Kim here');
  await w.waitForMessage('Kim here');
  const { conversationId: id } = await w.state();

  const dialog = page.getByRole('dialog', { name: 'Admin' });
  await adminTab(page, 'Team');
  const focusedTab = () => page.evaluate(() => (document.activeElement?.getAttribute('role') === 'tab' ? document.activeElement.textContent : null));
  await dialog.getByRole('tab', { name: 'Team' }).focus();
  for (let i = 0; i < 6 && (await focusedTab()) !== 'Privacy'; i++) await page.keyboard.press('ArrowRight');
  assert.equal(await focusedTab(), 'Privacy', 'the arrow keys reach the Privacy tab');
  const panel = dialog.getByRole('tabpanel', { name: 'Privacy' });
  await panel.waitFor();

  // Tab to "Find by", choose the conversation number with the arrow keys, type it, Tab to
  // "Erase…" and press Enter: every stop stays in the dialog and shows its focus.
  const where = () =>
    page.evaluate(() => {
      const el = document.activeElement;
      const style = getComputedStyle(el);
      return { inDialog: !!el.closest('dialog[open]'), outlined: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0, label: el.labels?.[0]?.textContent || el.textContent };
    });
  let at = null;
  for (let i = 0; i < 10; i++) {
    await page.keyboard.press('Tab');
    at = await where();
    assert.ok(at.inDialog, 'focus stays in the Admin area');
    assert.ok(at.outlined, 'the focus is visible (' + at.label + ')');
    if (at.label === 'Find by') break;
  }
  assert.equal(at.label, 'Find by');
  await page.keyboard.press('ArrowDown');
  assert.equal(await panel.getByLabel('Find by').inputValue(), 'conversation');
  assert.equal(await panel.getByLabel('Widget').isVisible(), false, 'a conversation names its widget');
  await page.keyboard.press('Tab');
  assert.equal((await where()).label, 'Conversation number');
  await page.keyboard.type(String(id));
  await page.keyboard.press('Tab'); // Export
  await page.keyboard.press('Tab'); // Erase…
  assert.equal((await where()).label, 'Erase…');
  await page.keyboard.press('Enter');
  await panel.getByRole('status').filter({ hasText: 'Erased 1 conversation of conversation #' + id }).waitFor();
  await visitor.locator('#parley-chatbot-widget', { hasText: 'This conversation was deleted.' }).waitFor();

  // A result to photograph: Kim's new conversation, exported by email.
  await w.send('Kim again');
  await w.waitForMessage('Kim again');
  await panel.getByLabel('Find by').selectOption('email');
  await panel.getByLabel('Email the visitor gave').fill('kim@example.com');
  await Promise.all([page.waitForEvent('download'), panel.getByRole('button', { name: 'Export', exact: true }).click()]);
  await panel.locator('.adm-privacy-found .adm-item').waitFor();

  for (const [size, viewport] of [['desktop', DESKTOP], ['phone', PHONE]]) {
    await page.setViewportSize(viewport);
    await panel.locator('.adm-privacy-found').waitFor();
    await shot(page, 'admin-privacy-' + size);
    assert.deepEqual(await accessibilityProblems(page), [], 'the Privacy panel at ' + size + ' size');
    assert.equal(await panel.evaluate((el) => el.scrollWidth <= el.clientWidth + 1), true, 'no sideways scroll at ' + size + ' size');
  }
  await page.setViewportSize(DESKTOP);
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'hidden' });
  assert.deepEqual(page.errors, []);
  assert.deepEqual(visitor.errors, []);
  await visitorContext.close();
  await adminContext.close();
});
