// Verified identity and the pre-chat form in the browser.
//   - A widget whose settings ask a pre-chat form shows it in place of the thread: labelled
//     fields, optional ones marked, a consent box; empty or wrong answers are named next to the
//     field (aria-invalid, focus there); good answers start the conversation, and agents see the
//     answers and the consent time. Keyboard only on a phone. Screenshots and the accessibility
//     check at desktop and phone sizes.
//   - A page that passes ChatbotConfig.userToken (a JWT signed with the widget's identity secret,
//     made here as a site's backend would) skips the form; agents see the user verified; another
//     device with its own token for the same user opens the same conversation, history included.
//   - A token the server refuses starts nothing and says so in the console.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { startParley } from '../../tests/lib/server.mjs';
import { startPages } from '../../tests/lib/pages.mjs';
import { launch, newContext, openPage, widget, screenshot } from '../../tests/lib/browser.mjs';
import { accessibilityProblems } from '../../tests/lib/a11y.mjs';
import { en } from '../src/i18n.js';

let parley, pages, browser, demo, original, secret;

const FORM = {
  enabled: true,
  fields: [
    { key: 'name', required: true },
    { key: 'email', required: true },
    { key: 'order', label: 'Order number' },
    { key: 'topic', label: 'Topic', type: 'select', options: ['Billing', 'Delivery'], required: true },
  ],
  consent: { enabled: true, text: 'I agree to the privacy policy' },
};

/** A user token as a site's backend signs it (any JWT library does the same). */
function userToken(claims, key = secret) {
  const b64 = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const head = b64({ alg: 'HS256', typ: 'JWT' });
  const body = b64({ exp: Math.floor(Date.now() / 1000) + 3600, ...claims });
  return `${head}.${body}.${createHmac('sha256', key).update(`${head}.${body}`).digest('base64url')}`;
}

before(async () => {
  parley = await startParley({ agent: true });
  pages = await startPages(parley);
  browser = await launch();
  [demo] = JSON.parse(await parley.cli(['widget', 'list', '--json']));
  original = demo.settings && typeof demo.settings === 'object' ? demo.settings : {};
  secret = JSON.parse(await parley.cli(['widget', 'identity-secret', String(demo.id), '--json'])).identity_secret;
  await parley.cli(['widget', 'configure', String(demo.id), '--settings', JSON.stringify({ ...original, pre_chat: FORM })]);
});

after(async () => {
  if (demo) await parley.cli(['widget', 'configure', String(demo.id), '--settings', JSON.stringify(original)]).catch(() => {});
  await browser?.close();
  await pages?.stop();
  await parley?.stop();
});

const form = (page) => page.locator('#parley-chatbot-widget .prechat');
const field = (page, label) => page.locator('#parley-chatbot-widget .prechat').getByLabel(label, { exact: true });

async function agentSees(conversationId) {
  const { json } = await parley.agentApi('GET', `/api/agent/conversations/${conversationId}`);
  return json.conversation;
}

test('the pre-chat form asks, checks and starts the conversation with the answers', async () => {
  const context = await newContext(browser, { viewport: { width: 1280, height: 800 } });
  const page = await openPage(context, pages.page());
  const w = widget(page);
  await w.open();
  await form(page).waitFor({ state: 'visible' });
  assert.equal(await w.input.isVisible(), false, 'no composer before the form is answered');
  assert.equal(await page.locator('#parley-chatbot-widget .prechat label', { hasText: 'Order number (optional)' }).count(), 1);
  assert.equal(await page.evaluate(() => document.querySelector('#parley-chatbot-widget').shadowRoot.activeElement?.id), 'pw-pre-0', 'focus on the first field');

  // The page's visitorName is filled in for them; cleared, each required field says what it lacks.
  assert.equal(await field(page, en.preChatName).inputValue(), 'Test User');
  await field(page, en.preChatName).fill('');
  await page.locator('#parley-chatbot-widget .pre-send').click();
  assert.equal(await field(page, en.preChatName).getAttribute('aria-invalid'), 'true');
  assert.equal(await page.locator('#parley-chatbot-widget #pw-pre-0-err').textContent(), `${en.preChatName} is required.`);
  assert.equal(await field(page, 'Topic').getAttribute('aria-invalid'), 'true');
  assert.ok(await page.locator('#parley-chatbot-widget .prechat').getByText(en.preChatConsentRequired).isVisible());
  await screenshot(page, 'prechat-errors-desktop');

  await field(page, en.preChatName).fill('Grace Hopper');
  await field(page, en.preChatEmail).fill('not an address');
  await field(page, 'Order number (optional)').fill('ZX-4471');
  await field(page, 'Topic').selectOption('Delivery');
  await page.locator('#parley-chatbot-widget .pre-send').click();
  assert.equal(await field(page, en.preChatEmail).getAttribute('aria-invalid'), 'true');
  assert.equal(await field(page, en.preChatName).getAttribute('aria-invalid'), null, 'fixed fields are cleared');
  await field(page, en.preChatEmail).fill('grace@example.com');
  await page.locator('#parley-chatbot-widget #pw-pre-consent').check();
  await screenshot(page, 'prechat-desktop');
  assert.deepEqual(await accessibilityProblems(page), []);
  await page.locator('#parley-chatbot-widget .pre-send').click();

  await w.input.waitFor({ state: 'visible' });
  assert.equal(await form(page).isVisible(), false);
  const id = (await w.state()).conversationId;
  assert.ok(id, 'the answers started the conversation');
  await w.send('Where is my parcel?');
  await w.waitForMessage('Where is my parcel?');
  const seen = await agentSees(id);
  assert.equal(seen.visitor_name, 'Grace Hopper');
  assert.equal(seen.visitor_email, 'grace@example.com');
  assert.equal(seen.name_verified, false, 'typed, so only claimed');
  assert.deepEqual(seen.attributes, { order: 'ZX-4471', topic: 'Delivery' });
  assert.ok(seen.consent_at, 'the consent is recorded with its time');
  // A reload keeps the conversation and does not ask again.
  await page.reload();
  await w.open();
  await w.waitForMessage('Where is my parcel?');
  assert.equal(await form(page).isVisible(), false);
  assert.deepEqual(page.errors, []);
  await context.close();
});

test('on a phone the form is answered with the keyboard alone', async () => {
  const context = await newContext(browser, { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  const page = await openPage(context, pages.page());
  const w = widget(page);
  await w.open();
  await form(page).waitFor({ state: 'visible' });
  // On a touch screen opening the chat pops no keyboard up: the visitor taps the first field.
  await field(page, en.preChatName).tap();
  await page.keyboard.press('Control+A'); // the page's visitorName, replaced
  await page.keyboard.type('Ada Lovelace');
  await page.keyboard.press('Tab');
  await page.keyboard.type('ada@example.com');
  await page.keyboard.press('Tab'); // order (optional): left empty
  await page.keyboard.press('Tab');
  await page.keyboard.press('ArrowDown'); // topic: Billing
  await page.keyboard.press('Tab');
  await page.keyboard.press('Space'); // consent
  await screenshot(page, 'prechat-phone');
  assert.deepEqual(await accessibilityProblems(page), []);
  await page.keyboard.press('Enter');
  await w.input.waitFor({ state: 'visible' });
  const seen = await agentSees((await w.state()).conversationId);
  assert.deepEqual(seen.attributes, { topic: 'Billing' });
  assert.equal(seen.visitor_name, 'Ada Lovelace');
  await context.close();
});

test('a signed-in user skips the form and finds their conversation on another device', async () => {
  const laptop = await newContext(browser, { viewport: { width: 1280, height: 800 } });
  const page = await openPage(laptop, pages.page({ userToken: userToken({ sub: 'customer-7', name: 'Katherine Johnson', email: 'kj@example.com' }) }));
  const w = widget(page);
  await w.open();
  await w.input.waitFor({ state: 'visible' });
  assert.equal(await form(page).isVisible(), false, 'the token names the visitor: no form');
  await w.send('Hello from my laptop');
  await w.waitForMessage('Hello from my laptop');
  const id = (await w.state()).conversationId;
  const seen = await agentSees(id);
  assert.equal(seen.user_id, 'customer-7');
  assert.equal(seen.visitor_name, 'Katherine Johnson');
  assert.equal(seen.name_verified, true);
  assert.equal(seen.email_verified, true);

  // The phone: another browser, its own token for the same user, nothing in storage.
  const phone = await newContext(browser, { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  const other = await openPage(phone, pages.page({ userToken: userToken({ sub: 'customer-7' }) }));
  const p = widget(other);
  await p.open();
  await p.waitForMessage('Hello from my laptop');
  assert.equal((await p.state()).conversationId, id, 'the same conversation');
  await p.send('And now from my phone');
  await w.waitForMessage('And now from my phone');
  await screenshot(other, 'identity-phone');
  assert.deepEqual(await accessibilityProblems(other), []);
  assert.deepEqual(other.errors, []);

  // Signed out on the laptop (no token on the page): the user's conversation is not shown.
  await page.goto(pages.page());
  await w.open();
  await form(page).waitFor({ state: 'visible' });
  assert.equal((await w.state()).conversationId, null);
  await laptop.close();
  await phone.close();
});

test('a token the server refuses starts nothing and says why in the console', async () => {
  const context = await newContext(browser, { viewport: { width: 1280, height: 800 } });
  const page = await openPage(context, pages.page({ userToken: userToken({ sub: 'mallory', name: 'Mallory' }, 'not the secret') }));
  const w = widget(page);
  await w.open();
  await page.waitForFunction(() => true);
  await w.input.waitFor({ state: 'visible' });
  await w.send('Let me in');
  await page.waitForFunction(() => document.querySelector('#parley-chatbot-widget').shadowRoot.querySelector('.msg.failed, .banner:not([hidden])'), null, { timeout: 15000 });
  assert.equal((await w.state()).conversationId, null);
  assert.ok(page.logs.some((line) => line.includes('user token was refused')), page.logs.join('\n'));
  await context.close();
});
