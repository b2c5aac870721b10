// The Admin area's "Visitors" part of a widget: a new widget's identity secret is shown once with
// its token, a user token signed with it is accepted and a new secret replaces it at once; the
// pre-chat form is built from the keyboard (a question added, made required, moved, a choice
// list, the consent box and its text) and saved as settings.pre_chat, which the widget then asks;
// "Only signed-in visitors" saves identity_required. Screenshots at desktop and phone sizes and
// the accessibility check.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startParley } from '../../tests/lib/server.mjs';
import { SCREENSHOTS, adminTab, launch } from '../../tests/lib/browser.mjs';
import { accessibilityProblems } from '../../tests/lib/a11y.mjs';

const ADMIN = { email: 'ada@example.com', name: 'Ada Admin', password: 'correct horse battery' };
let parley, browser;

before(async () => {
  parley = await startParley();
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

const signedIn = (viewport) => adminTab(browser, parley, ADMIN, viewport, 'Widgets');

function userToken(secret, sub) {
  const b64 = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const head = b64({ alg: 'HS256', typ: 'JWT' });
  const body = b64({ sub, exp: Math.floor(Date.now() / 1000) + 600 });
  return `${head}.${body}.${createHmac('sha256', secret).update(`${head}.${body}`).digest('base64url')}`;
}

/** Starts a conversation on the widget with `token`, as its page would; resolves to the status. */
async function startAs(widgetToken, body) {
  const res = await fetch(parley.baseUrl + '/api/chatbot/conversation', {
    method: 'POST',
    headers: { Authorization: 'Bearer ' + widgetToken, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  return res.status;
}

test('identity secrets and the pre-chat form, edited in the browser', async () => {
  const { context, page, panel } = await signedIn({ width: 1280, height: 800 });
  await panel.getByLabel('Widget name').fill('Members shop');
  await panel.getByRole('button', { name: 'Create widget' }).click();
  await panel.getByText('shown only now').first().waitFor();
  const widgetToken = await panel.getByLabel('Widget token', { exact: true }).inputValue();
  const first = await panel.getByLabel('Identity secret (keep it on your server)').inputValue();
  assert.match(first, /^cbi_\w{40,}$/);
  assert.equal(await startAs(widgetToken, { user_token: userToken(first, 'member-1') }), 201, 'a token signed with it verifies');

  const item = panel.locator('.adm-item', { hasText: 'Members shop' });
  page.on('dialog', (d) => d.accept());
  await item.getByRole('button', { name: 'New identity secret for Members shop' }).click();
  await item.getByText('has a new identity secret').waitFor();
  const second = await item.getByLabel('Identity secret (keep it on your server)').inputValue();
  assert.notEqual(second, first);
  assert.equal(await startAs(widgetToken, { user_token: userToken(first, 'member-2') }), 401, 'the old secret stops at once');
  assert.equal(await startAs(widgetToken, { user_token: userToken(second, 'member-2') }), 201);

  // The pre-chat form, from the keyboard.
  await item.getByRole('button', { name: 'Edit Members shop' }).click();
  await item.getByLabel('Ask a pre-chat form').check();
  const add = item.getByRole('button', { name: 'Add a question' });
  await add.focus();
  await page.keyboard.press('Enter');
  await page.keyboard.type('email'); // the Key field has the focus
  assert.equal(await item.locator('.adm-prechat-field').first().getByLabel('Type').isDisabled(), true, 'email has its own type');
  await add.click();
  const questions = item.locator('.adm-prechat-field');
  await questions.nth(1).getByLabel('Key').fill('topic');
  await questions.nth(1).getByLabel('Label').fill('Topic');
  await questions.nth(1).getByLabel('Type').selectOption('select');
  await questions.nth(1).getByLabel('Choices').fill('Billing\nDelivery');
  await questions.nth(1).getByLabel('Required').check();
  await questions.nth(1).getByRole('button', { name: 'Move up' }).click();
  await item.getByLabel('Ask for consent').check();
  await item.getByRole('button', { name: 'Save', exact: true }).click();
  await item.getByText('Consent text: say what the visitor agrees to.').waitFor();
  assert.equal(await page.evaluate(() => document.activeElement?.id), await item.getByLabel('Consent text').getAttribute('id'), 'the focus goes to what is missing');
  await item.getByLabel('Consent text').fill('I agree to the privacy policy');
  await shot(page, 'admin-visitors');
  assert.deepEqual(await accessibilityProblems(page), []);
  await item.getByRole('button', { name: 'Save', exact: true }).click();
  await panel.getByRole('status').filter({ hasText: 'is saved' }).waitFor();
  const saved = (await page.evaluate(() => fetch('/api/admin/widgets').then((r) => r.json()))).widgets.find((w) => w.name === 'Members shop');
  assert.deepEqual(saved.settings.pre_chat, {
    enabled: true,
    fields: [
      { key: 'topic', label: 'Topic', type: 'select', required: true, options: ['Billing', 'Delivery'] },
      { key: 'email' },
    ],
    consent: { enabled: true, text: 'I agree to the privacy policy' },
  });
  assert.equal(saved.settings.identity_required, undefined);
  // The server asks the same form.
  assert.equal(await startAs(widgetToken, { visitor_email: 'a@b.example', consent: true }), 422, 'the topic is required');
  assert.equal(await startAs(widgetToken, { attributes: { topic: 'Billing' }, consent: true }), 201);

  // Only signed-in visitors.
  await item.getByRole('button', { name: 'Edit Members shop' }).click();
  await item.getByLabel('Only signed-in visitors').check();
  // The status line still says the first save: wait for this one's answer instead.
  const patched = page.waitForResponse((r) => r.url().includes('/api/admin/widgets/') && r.request().method() === 'PATCH');
  await item.getByRole('button', { name: 'Save', exact: true }).click();
  assert.equal((await patched).status(), 200);
  assert.equal(await startAs(widgetToken, { attributes: { topic: 'Billing' }, consent: true }), 401, 'anonymous visitors are refused');
  assert.deepEqual(page.errors, []);
  await context.close();
});

test('the Visitors part on a phone', async () => {
  const { context, page, panel } = await signedIn({ width: 390, height: 844 });
  const item = panel.locator('.adm-item', { hasText: 'Members shop' });
  await item.getByRole('button', { name: 'Edit Members shop' }).click();
  await item.locator('.adm-visitors').scrollIntoViewIfNeeded();
  assert.equal(await item.getByLabel('Only signed-in visitors').isChecked(), true);
  assert.equal(await item.locator('.adm-prechat-field').count(), 2);
  await shot(page, 'admin-visitors-phone');
  assert.deepEqual(await accessibilityProblems(page), []);
  await context.close();
});

test('the widget editor says how text reads on the brand colour, and warns below WCAG AA', async () => {
  const { context, page, panel } = await signedIn({ width: 1280, height: 800 });
  const item = panel.locator('.adm-item', { hasText: 'Members shop' });
  await item.getByRole('button', { name: 'Edit Members shop' }).click();
  await item.getByLabel('Primary colour').fill('#ffeb3b');
  await item.getByText(/^Visitors see black text on it \(contrast \d+\.\d:1\)\.$/).waitFor();
  await item.getByLabel('Primary colour').fill('#1d4ed8');
  await item.getByText(/^Visitors see white text on it/).waitFor();
  await item.getByRole('button', { name: 'Cancel' }).click();

  // A text colour chosen outside the editor that fails AA is named in the list.
  const [members] = (await page.evaluate(() => fetch('/api/admin/widgets').then((r) => r.json()))).widgets.filter((w) => w.name === 'Members shop');
  await parley.cli(['widget', 'configure', String(members.id), '--settings', JSON.stringify({ ...members.settings, colors: { primary: '#ffeb3b', text_on_primary: '#ffffff' } })]);
  await page.getByRole('tab', { name: 'Team' }).click();
  await page.getByRole('tab', { name: 'Widgets' }).click();
  await item.getByText(/below WCAG AA/).waitFor();
  await item.getByRole('button', { name: 'Edit Members shop' }).click();
  await item.getByText(/Text on it: #ffffff \(contrast 1\.2:1\)\. Below WCAG AA/).waitFor();
  await shot(page, 'admin-contrast');
  assert.deepEqual(await accessibilityProblems(page), []);
  await context.close();
});
