// What a new agent trips over, fixed: one status vocabulary (Bot, Waiting, With an agent,
// Closed) in the inbox's tabs, the conversation's header and the visitor details, as the widget
// says it to visitors; closing and reopening are lines in the thread; message text takes its own
// direction (dir="auto"); saved replies are edited in place (Escape cancels, a taken shortcut is
// said); a paste longer than a reply may be is said; the widget's display name is edited in
// Admin › Widgets and is what the widget's configuration gives visitors. axe-core finds no
// serious or critical violation on the inbox with a conversation open and on the admin page.
// Screenshots at desktop and phone sizes.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startParley } from '../../tests/lib/server.mjs';
import { SCREENSHOTS, adminTab, launch, newContext, openPage, signInWithToken } from '../../tests/lib/browser.mjs';
import { accessibilityProblems, axeViolations } from '../../tests/lib/a11y.mjs';
import { STATUS_WORDS } from '../../shared/ui/status.js';
import { TABS } from '../src/inbox.js';
import { en } from '../../widget/src/i18n.js';

const ADMIN = { email: 'ada@example.com', name: 'Ada Admin', password: 'correct horse battery' };
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
let parley, browser;

before(async () => {
  parley = await startParley({ agent: true });
  browser = await launch();
  await parley.cli(['admin', 'create', '--email', ADMIN.email, '--name', ADMIN.name], { input: ADMIN.password + '\n' });
});

after(async () => {
  await browser?.close();
  await parley?.stop();
});

async function shot(page, name) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, 'dashboard-' + name + '.png') });
}

/** A visitor's conversation started and written to through the widget's API; resolves to its id. */
async function visitorSays(name, text) {
  const started = await parley.api('POST', '/api/chatbot/conversation', { body: { visitor_name: name } });
  assert.equal(started.status, 201, started.text);
  const id = started.json.conversation.id;
  const sent = await parley.api('POST', `/api/chatbot/conversation/${id}/messages`, { body: { message: text }, visitorToken: started.json.visitor_token });
  assert.equal(sent.status, 201, sent.text);
  return id;
}

async function agentDashboard(viewport) {
  const context = await newContext(browser, { viewport, ...(viewport.width < 500 ? { isMobile: true, hasTouch: true } : {}) });
  const page = await openPage(context);
  await signInWithToken(page, parley);
  return { context, page };
}

const pill = (page) => page.locator('.conv-head .status-pill');
const detailsStatus = (page) => page.locator('.details dt', { hasText: /^Status$/ }).locator('xpath=following-sibling::dd[1]');

test('one status vocabulary: the inbox tabs, the header, the details and the widget say the same', async () => {
  // The words, one set: the inbox's filters use them, and the widget says them to visitors.
  assert.deepEqual(
    TABS.filter((t) => t.id !== 'mine').map((t) => t.label),
    [STATUS_WORDS.waiting, STATUS_WORDS.bot, STATUS_WORDS.closed],
  );
  assert.match(en.statusWaiting, /^Waiting/);
  assert.match(en.statusAgent, /with an agent/);
  assert.match(en.statusClosed, /is closed/);

  const id = await visitorSays('Wendy', 'مرحبا! Order #12 (blue), please.');
  // Handed to the team, nobody has it yet: Waiting.
  assert.equal((await parley.agentApi('POST', `/api/agent/conversations/${id}/status`, { body: { status: 'human' } })).status, 200);
  const { context, page } = await agentDashboard(DESKTOP);
  const tabs = await page.getByRole('tab').allTextContents();
  assert.deepEqual(tabs.map((t) => t.replace(/\d+$/, '').trim()), ['Waiting', 'Mine', 'Bot', 'Closed']);
  await page.getByRole('tab', { name: /^Waiting/ }).click();
  await page.locator('.convs .conv', { hasText: 'Wendy' }).click();
  await pill(page).filter({ hasText: STATUS_WORDS.waiting }).waitFor();
  await detailsStatus(page).filter({ hasText: STATUS_WORDS.waiting }).waitFor();
  // The visitor's words take their own direction.
  const text = page.locator('.messages .msg.visitor .text', { hasText: 'Order #12' });
  assert.equal(await text.getAttribute('dir'), 'auto');
  assert.equal(await page.locator('.convs .conv .preview', { hasText: 'Order #12' }).getAttribute('dir'), 'auto');

  await page.getByRole('button', { name: 'Assign to me' }).click();
  await pill(page).filter({ hasText: STATUS_WORDS.agent }).waitFor();
  await detailsStatus(page).filter({ hasText: STATUS_WORDS.agent }).waitFor();

  // Closing and reopening: the status everywhere, and a line in the thread (the visitor's too).
  await page.getByRole('button', { name: 'Close', exact: true }).click();
  await pill(page).filter({ hasText: STATUS_WORDS.closed }).waitFor();
  await detailsStatus(page).filter({ hasText: STATUS_WORDS.closed }).waitFor();
  await page.locator('.messages .msg.system', { hasText: 'The conversation was closed.' }).waitFor();
  await page.getByRole('button', { name: 'Reopen' }).click();
  await pill(page).filter({ hasText: STATUS_WORDS.agent }).waitFor();
  await page.locator('.messages .msg.system', { hasText: 'The conversation was reopened.' }).waitFor();
  assert.deepEqual(page.errors, []);
  await context.close();
});

for (const [size, viewport] of [['desktop', DESKTOP], ['phone', PHONE]]) {
  test(`saved replies edited in place, a paste too long is said, no axe violation on the inbox (${size})`, async () => {
    const shortcut = 'thanks-' + size;
    await visitorSays('Paula ' + size, 'Hello, is the shop open on Sunday?');
    const { context, page } = await agentDashboard(viewport);
    await page.getByRole('tab', { name: /^Bot/ }).click();
    await page.locator('.convs .conv', { hasText: 'Paula ' + size }).click();
    await page.locator('.messages .msg', { hasText: 'open on Sunday' }).waitFor();
    await page.locator('#pd-reply').waitFor();

    // A paste longer than a reply may be: said, not cut silently.
    await page.locator('#pd-reply').focus();
    await page.evaluate(() => {
      const data = new DataTransfer();
      data.setData('text/plain', 'x'.repeat(6000));
      document.querySelector('#pd-reply').dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
    });
    await page.getByRole('alert').filter({ hasText: 'Replies can have at most 5,000 characters' }).waitFor();
    await shot(page, 'polish-paste-too-long-' + size);
    assert.deepEqual(await axeViolations(page), [], 'the inbox with a conversation open');
    assert.deepEqual(await accessibilityProblems(page), []);
    await shot(page, 'polish-inbox-' + size);

    // Saved replies live in the side column ("Details" opens it where it does not fit).
    const details = page.getByRole('button', { name: 'Details', exact: true });
    if (await details.isVisible()) await details.click();
    const saved = page.locator('section.saved');
    await saved.getByLabel('Shortcut', { exact: true }).fill(shortcut);
    await saved.getByLabel('Reply text', { exact: true }).fill('Thank you! ' + size);
    await saved.getByRole('button', { name: 'Save reply' }).click();
    await saved.locator('.saved-reply', { hasText: 'Thank you! ' + size }).waitFor();

    // Edit, then Escape: nothing changes, the focus is back on Edit.
    await saved.getByRole('button', { name: 'Edit /' + shortcut }).click();
    const text = saved.getByLabel('Text of /' + shortcut);
    await text.fill('Changed my mind');
    await text.press('Escape');
    await saved.locator('.saved-reply', { hasText: 'Thank you! ' + size }).waitFor();
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('aria-label')), 'Edit /' + shortcut);

    // A taken shortcut is refused and said; then a real change is saved.
    const other = 'hello-' + size;
    assert.equal((await parley.agentApi('POST', '/api/agent/saved-replies', { body: { shortcut: other, text: 'Hello!' } })).status, 201);
    await page.keyboard.press('Enter');
    await saved.getByLabel('Shortcut of /' + shortcut).fill(other);
    await saved.getByRole('button', { name: 'Save', exact: true }).click();
    await saved.locator('.saved-edit [role=alert]').filter({ hasText: /./ }).waitFor();
    await saved.getByLabel('Shortcut of /' + shortcut).fill(shortcut);
    await saved.getByLabel('Text of /' + shortcut).fill('Thank you, {{name}} — we are glad to help ' + size + '.');
    await shot(page, 'polish-saved-reply-edit-' + size);
    assert.deepEqual(await axeViolations(page), [], 'a saved reply being edited');
    await saved.getByRole('button', { name: 'Save', exact: true }).click();
    await saved.locator('.saved-reply', { hasText: 'we are glad to help ' + size }).waitFor();
    const stored = (await parley.agentApi('GET', '/api/agent/saved-replies')).json.saved_replies.find((r) => r.shortcut === shortcut);
    assert.equal(stored.text, 'Thank you, {{name}} — we are glad to help ' + size + '.');
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('aria-label')), 'Edit /' + shortcut);

    // The reply box offers the changed text.
    const close = page.getByRole('button', { name: 'Close details' });
    if (await close.isVisible()) await close.click();
    await page.locator('#pd-reply').fill('/' + shortcut);
    await page.locator('#pd-saved-picker [role=option]', { hasText: 'we are glad to help ' + size }).waitFor();
    assert.deepEqual(page.errors, []);
    await context.close();
  });

  test(`the display name is edited in Admin › Widgets and reaches the widget; no axe violation (${size})`, async () => {
    const { context, page, panel } = await adminTab(browser, parley, ADMIN, viewport, 'Widgets');
    const item = panel.locator('.adm-item', { hasText: 'Demo' }).first();
    await item.getByRole('button', { name: 'Edit Demo' }).click();
    const field = item.getByLabel('Display name');
    await field.waitFor();
    assert.equal(await field.getAttribute('placeholder'), 'Chat', 'empty: the site\'s name (none here: "Chat")');
    await field.fill('Acme Help ' + size);
    await shot(page, 'polish-admin-display-name-' + size);
    assert.deepEqual(await axeViolations(page), [], 'the admin page');
    assert.deepEqual(await accessibilityProblems(page), []);
    await item.locator('form.adm-edit > .adm-row button[type=submit]').click();
    await panel.getByText('is saved').waitFor();
    const config = await parley.api('GET', '/api/chatbot/config');
    assert.equal(config.json.widget.display_name, 'Acme Help ' + size);
    assert.equal(config.json.widget.bot_name, 'Acme Help ' + size);
    assert.equal(config.json.widget.name, 'Demo', 'the team\'s own name is unchanged');
    assert.deepEqual(page.errors, []);
    await context.close();
  });
}
