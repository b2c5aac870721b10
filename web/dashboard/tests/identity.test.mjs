// What agents see of who a visitor is: a user the site signed in (a user token) is marked
// verified in the inbox row and in the details, with their user id; a name and email the visitor
// typed are marked "claimed", never verified; the pre-chat form's answers, the consent time and
// the widget's language are listed, and a search by an answer finds the conversation. Opened
// with the keyboard; screenshots at desktop and phone sizes with the accessibility check.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startParley } from '../../tests/lib/server.mjs';
import { SCREENSHOTS, launch, newContext, openPage, signInWithToken } from '../../tests/lib/browser.mjs';
import { accessibilityProblems } from '../../tests/lib/a11y.mjs';

let parley, browser, demo, original, verifiedId, claimedId;

function userToken(secret, claims) {
  const b64 = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const head = b64({ alg: 'HS256', typ: 'JWT' });
  const body = b64({ exp: Math.floor(Date.now() / 1000) + 3600, ...claims });
  return `${head}.${body}.${createHmac('sha256', secret).update(`${head}.${body}`).digest('base64url')}`;
}

async function say(id, visitorToken, message, headers = {}) {
  const res = await fetch(parley.baseUrl + `/api/chatbot/conversation/${id}/messages`, {
    method: 'POST',
    headers: { Authorization: 'Bearer ' + parley.token, 'Content-Type': 'application/json', ...headers, ...(visitorToken ? { 'X-Visitor-Token': visitorToken } : {}) },
    body: JSON.stringify({ message }),
  });
  assert.equal(res.status, 201, await res.text());
}

before(async () => {
  parley = await startParley({ agent: true });
  browser = await launch();
  [demo] = JSON.parse(await parley.cli(['widget', 'list', '--json']));
  original = demo.settings && typeof demo.settings === 'object' ? demo.settings : {};
  const secret = JSON.parse(await parley.cli(['widget', 'identity-secret', String(demo.id), '--json'])).identity_secret;
  const form = { enabled: true, fields: [{ key: 'name' }, { key: 'order_number', label: 'Order number' }], consent: { enabled: true, text: 'I agree' } };
  await parley.cli(['widget', 'configure', String(demo.id), '--settings', JSON.stringify({ ...original, pre_chat: form })]);

  const token = userToken(secret, { sub: 'customer-42', name: 'Katherine Johnson', email: 'kj@example.com' });
  const verified = await parley.api('POST', '/api/chatbot/conversation', { body: { user_token: token, locale: 'fr' } });
  assert.equal(verified.status, 201, verified.text);
  verifiedId = verified.json.conversation.id;
  await say(verifiedId, null, 'Bonjour, where is my order?', { 'X-User-Token': token });

  const claimed = await parley.api('POST', '/api/chatbot/conversation', {
    body: { visitor_name: 'Dorothy Vaughan', visitor_email: 'dv@example.com', attributes: { order_number: 'ZX-4471' }, consent: true },
  });
  assert.equal(claimed.status, 201, claimed.text);
  claimedId = claimed.json.conversation.id;
  await say(claimedId, claimed.json.visitor_token, 'My parcel is late');
});

after(async () => {
  if (demo) await parley.cli(['widget', 'configure', String(demo.id), '--settings', JSON.stringify(original)]).catch(() => {});
  await browser?.close();
  await parley?.stop();
});

async function shot(page, name) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, 'dashboard-' + name + '.png') });
}

async function signIn(page) {
  await signInWithToken(page, parley);
  // Both conversations are still with the bot.
  await page.getByRole('tab', { name: /^Bot/ }).click();
}

/** The details' value for `term`, as text. */
const fact = (page, term) => page.locator('.details dt', { hasText: new RegExp('^' + term + '$') }).locator('xpath=following-sibling::dd[1]');

test('verified and claimed identities, the pre-chat answers and the consent, at desktop size', async () => {
  const context = await newContext(browser, { viewport: { width: 1280, height: 800 } });
  const page = await openPage(context);
  await signIn(page);
  const verifiedRow = page.locator('.convs .conv', { hasText: 'Katherine Johnson' });
  await verifiedRow.waitFor();
  assert.equal(await verifiedRow.locator('.proof.verified').count(), 1, 'a mark in the inbox row');
  assert.match(await verifiedRow.locator('.conv-label').textContent(), /verified user/);
  const claimedRow = page.locator('.convs .conv', { hasText: 'Dorothy Vaughan' });
  assert.equal(await claimedRow.locator('.proof').count(), 0, 'no mark for a typed name');

  // Opened with the keyboard.
  await verifiedRow.focus();
  await page.keyboard.press('Enter');
  await fact(page, 'User id').waitFor();
  assert.equal(await fact(page, 'Name').textContent(), 'Katherine Johnson ✓ verified');
  assert.equal(await fact(page, 'Email').textContent(), 'kj@example.com ✓ verified');
  assert.equal(await fact(page, 'User id').textContent(), 'customer-42 ✓ verified');
  assert.equal(await fact(page, 'Language').textContent(), 'fr');
  await shot(page, 'identity-verified');
  assert.deepEqual(await accessibilityProblems(page), []);

  await claimedRow.click();
  await fact(page, 'Order number').waitFor();
  assert.equal(await fact(page, 'Name').textContent(), 'Dorothy Vaughan claimed');
  assert.equal(await fact(page, 'Email').textContent(), 'dv@example.com claimed');
  assert.equal(await fact(page, 'Order number').textContent(), 'ZX-4471');
  assert.match(await fact(page, 'Consent').textContent(), /^Given /);
  assert.equal(await page.locator('.details dt', { hasText: 'User id' }).count(), 0);
  await shot(page, 'identity-claimed');

  // A search by a pre-chat answer finds the conversation.
  await page.getByRole('searchbox').fill('zx-4471');
  await page.locator('.convs .conv', { hasText: 'Dorothy Vaughan' }).waitFor();
  await page.waitForFunction(() => document.querySelectorAll('.convs .conv').length === 1);
  assert.deepEqual(page.errors, []);
  await context.close();
});

test('on a phone, Details opens the visitor\'s details over the conversation, Escape closes them', async () => {
  const context = await newContext(browser, { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  const page = await openPage(context);
  await signIn(page);
  await page.locator('.convs .conv', { hasText: 'Katherine Johnson' }).click();
  const toggle = page.getByRole('button', { name: 'Details', exact: true });
  assert.equal(await fact(page, 'User id').isVisible(), false, 'the side column does not fit a phone');
  await shot(page, 'identity-phone-conversation');
  await toggle.click();
  assert.equal(await toggle.getAttribute('aria-expanded'), 'true');
  await fact(page, 'User id').waitFor();
  assert.equal(await fact(page, 'Name').textContent(), 'Katherine Johnson ✓ verified');
  await shot(page, 'identity-phone');
  assert.deepEqual(await accessibilityProblems(page), []);
  await page.keyboard.press('Escape');
  await fact(page, 'User id').waitFor({ state: 'hidden' });
  assert.equal(await toggle.getAttribute('aria-expanded'), 'false');
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Details', 'the focus goes back to the button');
  await toggle.click();
  await page.getByRole('button', { name: 'Close details' }).click();
  await fact(page, 'User id').waitFor({ state: 'hidden' });
  assert.deepEqual(page.errors, []);
  await context.close();
});
