// The Admin area's Webhooks tab against the real server and a receiver this test starts: an admin
// adds a webhook for two events of the demo widget (the signing secret is shown once), a
// visitor's conversation and message reach the receiver signed with that secret (checked here
// with HMAC-SHA256 over "{timestamp}.{body}"), the delivery log shows them delivered with the
// time and the response code, "Send test" pings the receiver and the log follows it by itself; a
// receiver answering 500 is retried and the log says so, then shows it delivered; a disabled
// webhook is given nothing, sends nothing and cannot be tested; one is deleted after asking. The keyboard alone
// adds a webhook and sends a test; the tab is photographed at desktop and phone size and passes
// the accessibility check.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startParley } from '../../tests/lib/server.mjs';
import { SCREENSHOTS, launch, newContext, openPage } from '../../tests/lib/browser.mjs';
import { accessibilityProblems } from '../../tests/lib/a11y.mjs';

const ADMIN = { email: 'ada@example.com', name: 'Ada Admin', password: 'correct horse battery' };
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

let parley, browser, receiver, context, page;
/** What the receiver got: {path, headers, body (text), at}. */
const received = [];
/** Statuses the receiver answers with, in order; then 200. */
const script = [];

before(async () => {
  parley = await startParley();
  browser = await launch();
  await parley.cli(['admin', 'create', '--email', ADMIN.email, '--name', ADMIN.name], { input: ADMIN.password + '\n' });
  receiver = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      received.push({ path: req.url, headers: req.headers, body, at: Date.now() });
      const status = script.length ? script.shift() : 200;
      res.writeHead(status, { 'Content-Type': 'text/plain' });
      res.end(status === 200 ? 'thanks' : 'not now');
    });
  });
  await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
  receiver.base = 'http://127.0.0.1:' + receiver.address().port;
});

after(async () => {
  await browser?.close();
  await new Promise((r) => (receiver ? receiver.close(r) : r()));
  await parley?.stop();
});

async function shot(p, name) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await p.screenshot({ path: join(SCREENSHOTS, 'dashboard-' + name + '.png') });
}

const live = (p) => p.waitForFunction(() => window.ParleyDashboard?.state?.agentsLive === true, null, { timeout: 20000 });

async function signIn(p, { email, password }) {
  await p.goto(parley.dashboardUrl);
  await p.getByLabel('Email').fill(email);
  await p.getByLabel('Password', { exact: true }).fill(password);
  await p.getByRole('button', { name: 'Sign in', exact: true }).click();
  await live(p);
}

async function webhooksTab(p) {
  const dialog = p.getByRole('dialog', { name: 'Admin' });
  if (!(await dialog.isVisible())) await p.getByRole('button', { name: 'Admin', exact: true }).click();
  await dialog.getByRole('tab', { name: 'Webhooks' }).click();
  const panel = dialog.getByRole('tabpanel', { name: 'Webhooks' });
  await panel.waitFor();
  return panel;
}

/** Waits until the receiver holds requests to `path` matching `pick`, `n` of them. */
async function receivedAt(path, n, pick = () => true, timeoutMs = 20000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const got = received.filter((r) => r.path === path && pick(r));
    if (got.length >= n) return got;
    if (Date.now() > deadline) throw new Error(got.length + ' of ' + n + ' requests to ' + path + ': ' + JSON.stringify(received.map((r) => [r.path, r.body.slice(0, 60)])));
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Whether a request is signed with `secret` as Parley signs (and its timestamp is fresh). */
function signedBy(request, secret) {
  const timestamp = request.headers['x-parley-timestamp'];
  const expected = 'sha256=' + createHmac('sha256', secret).update(timestamp + '.' + request.body).digest('hex');
  return request.headers['x-parley-signature'] === expected && Math.abs(Date.now() / 1000 - Number(timestamp)) < 300;
}

const event = (request) => JSON.parse(request.body).event;

/** A visitor starts a conversation and says `text`, through the widget API. */
async function visitorSays(text) {
  const started = await parley.api('POST', '/api/chatbot/conversation', { body: { visitor_name: 'Vera' } });
  assert.equal(started.status, 201, started.text);
  const id = started.json.conversation.id;
  const sent = await parley.api('POST', '/api/chatbot/conversation/' + id + '/messages', { body: { message: text }, visitorToken: started.json.visitor_token });
  assert.equal(sent.status, 201, sent.text);
  return id;
}

test('an admin adds a webhook: a visitor\'s message reaches the receiver signed, the log shows it, and Send test pings it', async () => {
  context = await newContext(browser, { viewport: DESKTOP });
  page = await openPage(context);
  await signIn(page, ADMIN);
  const panel = await webhooksTab(page);
  await panel.getByText('No webhooks yet.').waitFor();

  const path = '/crm';
  await panel.getByLabel('Receiver URL').fill(receiver.base + path);
  await panel.getByRole('checkbox', { name: /conversation\.created/ }).check();
  await panel.getByRole('checkbox', { name: /message\.created/ }).check();
  const widgetChoice = panel.getByLabel('Widget', { exact: true });
  const demo = await widgetChoice.locator('option').nth(1).getAttribute('value');
  await widgetChoice.selectOption(demo);
  await panel.getByRole('button', { name: 'Add webhook' }).click();
  const secretBox = panel.getByRole('textbox', { name: 'Signing secret' });
  await secretBox.waitFor();
  const secret = await secretBox.inputValue();
  assert.match(secret, /^whsec_\w{48}$/);
  assert.equal(await page.evaluate(() => document.activeElement?.classList.contains('adm-copy-value')), true, 'the secret has the focus');
  const item = panel.locator('.adm-item[data-webhook-id]');
  await item.getByText(receiver.base + path).waitFor();
  await item.getByText('conversation.created, message.created').waitFor();
  const listed = await page.evaluate(() => fetch('/api/admin/webhooks').then((r) => r.text()));
  assert.doesNotMatch(listed, new RegExp(secret), 'the secret is shown once');

  // A visitor's conversation: both events arrive, signed, in order.
  const id = await visitorSays('Do you ship to Mars?');
  const got = await receivedAt(path, 2);
  assert.deepEqual(got.map(event), ['conversation.created', 'message.created']);
  for (const request of got) {
    assert.ok(signedBy(request, secret), 'signed with the secret shown');
    assert.equal(request.headers['content-type'], 'application/json');
  }
  const message = JSON.parse(got[1].body);
  assert.equal(message.data.message.message, 'Do you ship to Mars?');
  assert.equal(message.data.conversation.id, id);
  assert.deepEqual(Object.keys(message).sort(), ['created_at', 'data', 'event']);

  // The log: both delivered, with the response code and the time.
  await item.getByRole('button', { name: 'Delivery log of ' + receiver.base + path }).click();
  const log = item.getByRole('list', { name: 'Deliveries to ' + receiver.base + path });
  await log.locator('.adm-delivery[data-state="delivered"]').nth(1).waitFor();
  const first = log.locator('.adm-delivery').first();
  assert.match(await first.textContent(), /Delivered.*message\.created.*conversation #\d+.*HTTP 200.*1 attempt/s);
  assert.match(await first.textContent(), /Answer: thanks/);

  // Send test: a ping, signed; the log follows it by itself.
  await item.getByRole('button', { name: 'Send a test to ' + receiver.base + path }).click();
  const ping = (await receivedAt(path, 1, (r) => event(r) === 'ping'))[0];
  assert.ok(signedBy(ping, secret));
  await log.locator('.adm-delivery', { hasText: 'Test' }).locator('.tag', { hasText: 'Delivered' }).waitFor();
  assert.deepEqual(page.errors, []);
});

test('a failing receiver is retried and the log says so; disabled, a webhook sends nothing; deleted after asking', async () => {
  const panel = await webhooksTab(page);
  const path = '/crm';
  const item = panel.locator('.adm-item[data-webhook-id]').first();
  const log = item.getByRole('list', { name: 'Deliveries to ' + receiver.base + path });
  await log.waitFor();

  // 500, then 200 at the retry (the first back-off is ten seconds).
  script.push(500);
  const before = received.length;
  await visitorSays('Still there?');
  await item.getByRole('button', { name: 'Refresh the delivery log of ' + receiver.base + path }).click();
  await log.locator('.adm-delivery[data-state="pending"]', { hasText: 'HTTP 500' }).locator('.tag', { hasText: 'Will retry' }).first().waitFor({ timeout: 20000 });
  await log.getByText('the receiver answered 500').first().waitFor();
  await log.locator('.adm-delivery', { hasText: '2 attempts' }).locator('.tag', { hasText: 'Delivered' }).waitFor({ timeout: 30000 });
  const tries = received.slice(before).filter((r) => r.path === path);
  const firsts = tries.filter((r) => event(r) === 'conversation.created');
  assert.equal(firsts.length, 2, 'the failed one was sent again, once');
  assert.equal(firsts[0].headers['x-parley-delivery'], firsts[1].headers['x-parley-delivery']);
  await receivedAt(path, 1, (r) => JSON.parse(r.body).data?.message?.message === 'Still there?');
  assert.ok(tries.indexOf(firsts[1]) < tries.findIndex((r) => event(r) === 'message.created'), 'the message waited for the conversation');

  // Disabled: tagged, cannot be tested, sends nothing; enabled again.
  await item.getByRole('button', { name: 'Disable ' + receiver.base + path }).click();
  const disabled = panel.locator('.adm-item[data-webhook-id]').first();
  await disabled.locator('.tag', { hasText: 'Disabled' }).waitFor();
  assert.equal(await disabled.getByRole('button', { name: 'Send a test to ' + receiver.base + path }).isDisabled(), true);
  const quiet = received.length;
  await visitorSays('Nobody hears this');
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(received.length, quiet, 'a disabled webhook sends nothing');
  await disabled.getByRole('button', { name: 'Enable ' + receiver.base + path }).click();
  await panel.locator('.adm-item[data-webhook-id]').first().locator('.tag', { hasText: 'Enabled' }).waitFor();
  // Enabled again, it hears what happens from now on (what happened meanwhile was never its).
  await visitorSays('Heard again');
  await receivedAt(path, 1, (r) => JSON.parse(r.body).data?.message?.message === 'Heard again');
  assert.equal(received.filter((r) => r.body.includes('Nobody hears this')).length, 0);

  // Deleted after asking.
  const asked = [];
  page.once('dialog', (d) => {
    asked.push(d.message());
    d.accept();
  });
  await panel.getByRole('button', { name: 'Delete the webhook for ' + receiver.base + path }).click();
  await panel.getByText('No webhooks yet.').waitFor();
  assert.match(asked[0] || '', /Delete the webhook for .*\/crm\? Its delivery log goes with it/);
  const audit = await page.evaluate(() => fetch('/api/admin/audit').then((r) => r.json()));
  const actions = audit.entries.map((e) => e.action);
  for (const action of ['webhook.create', 'webhook.test', 'webhook.disable', 'webhook.enable', 'webhook.delete']) assert.ok(actions.includes(action), action);
  assert.deepEqual(page.errors, []);
});

test('the keyboard alone adds a webhook and sends a test; screenshots and an accessibility check of the Webhooks tab', async () => {
  const dialog = page.getByRole('dialog', { name: 'Admin' });
  await webhooksTab(page);
  await dialog.getByRole('tab', { name: 'Team' }).click();
  const focusedTab = () => page.evaluate(() => (document.activeElement?.getAttribute('role') === 'tab' ? document.activeElement.textContent : null));
  await dialog.getByRole('tab', { name: 'Team' }).focus();
  for (let i = 0; i < 8 && (await focusedTab()) !== 'Webhooks'; i++) await page.keyboard.press('ArrowRight');
  assert.equal(await focusedTab(), 'Webhooks', 'the arrow keys reach the Webhooks tab');
  const panel = dialog.getByRole('tabpanel', { name: 'Webhooks' });
  await panel.getByText('No webhooks yet.').waitFor();

  const where = () =>
    page.evaluate(() => {
      const el = document.activeElement;
      const style = getComputedStyle(el);
      return { inDialog: !!el.closest('dialog[open]'), outlined: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0, label: el.labels?.[0]?.textContent || el.getAttribute('aria-label') || el.textContent };
    });
  let at = null;
  for (let i = 0; i < 10; i++) {
    await page.keyboard.press('Tab');
    at = await where();
    assert.ok(at.inDialog, 'focus stays in the Admin area');
    assert.ok(at.outlined, 'the focus is visible (' + at.label + ')');
    if (at.label === 'Receiver URL') break;
  }
  assert.equal(at.label, 'Receiver URL');
  const path = '/keyboard';
  await page.keyboard.type(receiver.base + path);
  await page.keyboard.press('Tab'); // the first event
  assert.match((await where()).label, /conversation\.created/);
  await page.keyboard.press('Tab'); // message.created
  await page.keyboard.press('Space');
  assert.equal(await panel.getByRole('checkbox', { name: /message\.created/ }).isChecked(), true);
  for (let i = 0; i < 3; i++) await page.keyboard.press('Tab'); // past the other events
  await page.keyboard.press('Tab'); // Widget
  assert.equal((await where()).label, 'Widget');
  await page.keyboard.press('Tab'); // Add webhook
  assert.equal((await where()).label, 'Add webhook');
  await page.keyboard.press('Enter');
  await panel.getByRole('textbox', { name: 'Signing secret' }).waitFor();
  const secret = await panel.getByRole('textbox', { name: 'Signing secret' }).inputValue();
  assert.equal(await page.evaluate(() => document.activeElement?.classList.contains('adm-copy-value')), true, 'the secret has the focus');

  // Back up to the new webhook's "Send test" with Shift+Tab, and press it.
  for (let i = 0; i < 30; i++) {
    await page.keyboard.press('Shift+Tab');
    at = await where();
    assert.ok(at.inDialog && at.outlined, 'visible focus in the dialog (' + at.label + ')');
    if (at.label === 'Send a test to ' + receiver.base + path) break;
  }
  assert.equal(at.label, 'Send a test to ' + receiver.base + path);
  await page.keyboard.press('Enter');
  const ping = (await receivedAt(path, 1, (r) => event(r) === 'ping'))[0];
  assert.ok(signedBy(ping, secret));
  const item = panel.locator('.adm-item[data-webhook-id]').first();
  await item.locator('.adm-delivery', { hasText: 'Test' }).locator('.tag', { hasText: 'Delivered' }).waitFor();
  // A message for the photograph's log.
  await visitorSays('Hello from the keyboard test');
  await receivedAt(path, 1, (r) => event(r) === 'message.created');
  await item.getByRole('button', { name: 'Refresh the delivery log of ' + receiver.base + path }).click();
  await item.locator('.adm-delivery', { hasText: 'message.created' }).locator('.tag', { hasText: 'Delivered' }).waitFor();

  for (const [size, viewport] of [['desktop', DESKTOP], ['phone', PHONE]]) {
    await page.setViewportSize(viewport);
    await item.locator('.adm-delivery').first().scrollIntoViewIfNeeded();
    await shot(page, 'admin-webhooks-' + size);
    assert.deepEqual(await accessibilityProblems(page), [], 'the Webhooks tab at ' + size + ' size');
    assert.equal(await panel.evaluate((el) => el.scrollWidth <= el.clientWidth + 1), true, 'no sideways scroll at ' + size + ' size');
  }
  await page.setViewportSize(DESKTOP);
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'hidden' });
  assert.deepEqual(page.errors, []);
  await context.close();
});
