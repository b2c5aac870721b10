// The Admin area of the agents' dashboard (/dashboard) against the real server, with the bot
// worker on: an admin invites an agent, who opens the invitation link in another browser, chooses
// a password and lands in the inbox without the Admin area (and is refused /api/admin/…); the
// admin creates a widget, whose snippet (read from the page) runs on a site served from another
// port, where a visitor chats and the new agent sees it; a knowledge entry the admin adds is
// matched by "Try the bot" and answers a visitor at once; the keyboard alone walks the area; and
// Team, Widgets and Knowledge are photographed at desktop and phone size and pass the
// accessibility check.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startParley } from '../../tests/lib/server.mjs';
import { SCREENSHOTS, holdNextRequest, launch, newContext, openPage, widget } from '../../tests/lib/browser.mjs';
import { accessibilityProblems } from '../../tests/lib/a11y.mjs';

const ADMIN = { email: 'ada@example.com', name: 'Ada Admin', password: 'correct horse battery' };
const AGENT = { email: 'bo@example.com', name: 'Bo Agent', password: 'a long enough password' };
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
const QUESTION = 'Do you ship to Mars?';
const ANSWER = 'Yes: rockets leave for Mars every Tuesday.';

let parley, browser, site, adminContext, adminPage, agentContext, agentPage;
/** The snippet the admin copied from the page; the site serves it. */
let snippet = '';

before(async () => {
  parley = await startParley({ env: { PARLEY_BOT_WORKER: 'true' } });
  browser = await launch();
  await parley.cli(['admin', 'create', '--email', ADMIN.email, '--name', ADMIN.name], { input: ADMIN.password + '\n' });
  // A shop's site on another port: its page is the snippet and nothing else of Parley.
  site = createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
    res.end('<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Shop</title></head><body><h1>The shop</h1>\n' + snippet + '\n</body></html>');
  });
  await new Promise((r) => site.listen(0, '127.0.0.1', r));
  site.origin = 'http://127.0.0.1:' + site.address().port;
});

after(async () => {
  await browser?.close();
  await new Promise((r) => (site ? site.close(r) : r()));
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

/** The Admin area as the admin uses it. */
function adminArea(page) {
  const dialog = page.getByRole('dialog', { name: 'Admin' });
  return {
    dialog,
    button: page.getByRole('button', { name: 'Admin', exact: true }),
    async open(tab) {
      if (!(await dialog.isVisible())) await page.getByRole('button', { name: 'Admin', exact: true }).click();
      await dialog.getByRole('tab', { name: tab }).click();
      await dialog.getByRole('tabpanel', { name: tab }).waitFor();
      return dialog.getByRole('tabpanel', { name: tab });
    },
  };
}

test('an admin invites an agent, who sets a password from the link and lands in the inbox without the Admin area', async () => {
  adminContext = await newContext(browser, { viewport: DESKTOP });
  adminPage = await openPage(adminContext);
  // "Disable" and "New token" ask first; the tests say yes.
  adminPage.on('dialog', (d) => d.accept());
  await signIn(adminPage, ADMIN);
  const area = adminArea(adminPage);
  const team = await area.open('Team');
  await team.locator('.adm-item', { hasText: ADMIN.email }).waitFor();

  await team.getByLabel('Email').fill(AGENT.email);
  await team.getByLabel('Name (optional)').fill(AGENT.name);
  await team.getByLabel('Role', { exact: true }).selectOption('agent');
  await team.getByRole('button', { name: 'Invite', exact: true }).click();
  const link = await team.getByLabel('Invitation link', { exact: true }).inputValue();
  assert.match(link, new RegExp('^' + parley.baseUrl + '/dashboard#invite=psl_\\w+$'), 'the whole link, origin included');
  const row = team.locator('.adm-item', { hasText: AGENT.email });
  await row.getByText('No password yet').waitFor();

  // A taken email: the server's refusal is shown.
  await team.getByLabel('Email').fill(AGENT.email.toUpperCase());
  await team.getByRole('button', { name: 'Invite', exact: true }).click();
  await team.getByRole('alert').filter({ hasText: 'Could not invite' }).waitFor();

  // The last admin cannot become an agent: the server says so (409) and the role stays.
  const own = team.locator('.adm-item', { hasText: ADMIN.email });
  await own.getByLabel('Role of ' + ADMIN.name).selectOption('agent');
  await own.getByRole('alert').filter({ hasText: /admin/i }).waitFor();
  assert.equal(await own.getByLabel('Role of ' + ADMIN.name).inputValue(), 'admin');

  // The invitee, in another browser.
  agentContext = await newContext(browser, { viewport: DESKTOP });
  agentPage = await openPage(agentContext);
  await agentPage.goto(link);
  await agentPage.getByRole('heading', { name: 'Choose your password' }).waitFor();
  const password = agentPage.getByLabel('Password', { exact: true });
  const again = agentPage.getByLabel('Password again');
  assert.equal(await password.evaluate((el) => el === document.activeElement), true, 'the password field has the focus');
  assert.equal(await agentPage.getByLabel('Email').count(), 0, 'no email to type: the link says who');
  assert.deepEqual(await accessibilityProblems(agentPage), [], 'the invitation page');
  await password.fill('short');
  await again.fill('short');
  await agentPage.getByRole('button', { name: 'Set password and sign in' }).click();
  await agentPage.getByRole('alert').filter({ hasText: 'at least 8 characters' }).waitFor();
  assert.equal(await password.getAttribute('aria-invalid'), 'true');
  await password.fill(AGENT.password);
  await again.fill(AGENT.password + '!');
  await agentPage.getByRole('button', { name: 'Set password and sign in' }).click();
  await agentPage.getByRole('alert').filter({ hasText: 'The two passwords differ' }).waitFor();
  await again.fill(AGENT.password);
  await agentPage.getByRole('button', { name: 'Set password and sign in' }).click();
  await live(agentPage);
  await agentPage.locator('.agent-name', { hasText: AGENT.name }).waitFor();
  assert.doesNotMatch(agentPage.url(), /invite=|psl_/, 'the token left the address');
  assert.equal((await agentPage.evaluate(() => window.ParleyDashboard.state)).agent.role, 'agent');
  assert.equal(await agentPage.getByRole('button', { name: 'Admin', exact: true }).count(), 0, 'agents never see the Admin area');
  assert.equal(await agentPage.evaluate(() => fetch('/api/admin/users').then((r) => r.status)), 403, 'and the admin API refuses them');

  // The link is spent: used again, it says so.
  const other = await openPage(await newContext(browser));
  await other.goto(link);
  await other.getByLabel('Password', { exact: true }).fill('another long password');
  await other.getByLabel('Password again').fill('another long password');
  await other.getByRole('button', { name: 'Set password and sign in' }).click();
  await other.getByRole('alert').filter({ hasText: 'no longer valid' }).waitFor();
  await other.context().close();

  // The admin's list now shows the agent with a password.
  await team.getByRole('button', { name: 'Invite', exact: true }).waitFor();
  await area.open('Widgets');
  const again2 = await area.open('Team');
  await again2.locator('.adm-item', { hasText: AGENT.email }).getByText('No password yet').waitFor({ state: 'detached' });
  assert.deepEqual(adminPage.errors, []);
  assert.deepEqual(agentPage.errors, []);
});

test('the admin creates a widget; its snippet runs on another site, a visitor chats, and the new agent sees it', async () => {
  const area = adminArea(adminPage);
  const panel = await area.open('Widgets');
  await panel.getByLabel('Widget name').fill('Mars shop');
  await panel.getByLabel('Allowed origins').fill(site.origin);
  await panel.getByRole('button', { name: 'Create widget' }).click();
  await panel.getByText('shown only now').waitFor();
  const token = await panel.getByLabel('Widget token', { exact: true }).inputValue();
  assert.match(token, /^cbw_\w+$/);
  snippet = await panel.getByLabel('Snippet to paste before </body>', { exact: true }).inputValue();
  assert.ok(snippet.includes(token) && snippet.includes(parley.baseUrl + '/chatbot-widget.js'), 'the snippet carries the token and the script');
  // The Copy button puts the snippet on the clipboard.
  await adminContext.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: parley.baseUrl });
  await panel.getByRole('button', { name: 'Copy snippet' }).click();
  await panel.getByText('Copied.').waitFor();
  assert.equal(await adminPage.evaluate(() => navigator.clipboard.readText()), snippet);
  const item = panel.locator('.adm-item', { hasText: 'Mars shop' });
  await item.getByText('Origins: ' + site.origin).waitFor();

  // Edit: a greeting and the left side; the settings keep what else they hold.
  await item.getByRole('button', { name: 'Edit Mars shop' }).click();
  await item.getByLabel('Greeting').fill('Welcome to the Mars shop!');
  await item.getByLabel('Position').selectOption('left');
  await item.getByLabel('Primary colour').fill('#b91c1c');
  await item.getByLabel('Language').selectOption('fr');
  await item.getByLabel('Proactive message').fill('Need a hand?');
  await item.getByLabel('Show after (seconds)').fill('5');
  await item.getByRole('button', { name: 'Save', exact: true }).click();
  await panel.getByRole('status').filter({ hasText: 'is saved' }).waitFor();
  const saved = (await adminPage.evaluate(() => fetch('/api/admin/widgets').then((r) => r.json()))).widgets.find((w) => w.name === 'Mars shop');
  assert.equal(saved.settings.locale, 'fr', 'French chosen in the editor is saved as settings.locale');
  assert.equal(saved.settings.greeting, 'Welcome to the Mars shop!');
  assert.equal(saved.settings.position, 'left');
  assert.equal(saved.settings.colors.primary, '#b91c1c');
  assert.deepEqual(saved.settings.proactive, { message: 'Need a hand?', delay_secs: 5 });

  // Dashboards already open follow the new widget's inbox channel at once (no reload), for the
  // admin and for the agent, who answers every widget.
  for (const page of [adminPage, agentPage]) {
    await page.waitForFunction(
      (id) => !!window.ParleyDashboard?.echo?.connector?.pusher?.channel('private-agents.' + id)?.subscribed,
      saved.id,
    );
  }

  // A visitor on the shop's site.
  const visitorContext = await newContext(browser);
  const visitor = await openPage(visitorContext, site.origin + '/');
  const w = widget(visitor);
  await w.open();
  await w.waitForMessage('Welcome to the Mars shop!');
  await w.send('Hello from the Mars shop');
  await w.waitForMessage('Hello from the Mars shop');

  // The new agent finds it in the inbox and reads it.
  await agentPage.getByRole('searchbox').fill('Hello from the Mars shop');
  await agentPage.locator('.convs .conv').first().click();
  await agentPage.locator('.messages .msg:not(.pending) .bubble', { hasText: 'Hello from the Mars shop' }).waitFor();
  assert.deepEqual(visitor.errors, []);
  await visitorContext.close();
  await agentPage.getByRole('searchbox').fill('');
});

test('a knowledge entry the admin adds: "Try the bot" matches it, and the bot answers a visitor with it at once', async () => {
  const area = adminArea(adminPage);
  const panel = await area.open('Knowledge');
  const picker = panel.getByLabel('Widget', { exact: true });
  await picker.selectOption(await picker.locator('option', { hasText: 'Mars shop' }).getAttribute('value'));
  await panel.getByLabel('Questions').fill(QUESTION + '\nDelivery to Mars?');
  await panel.getByLabel('Answer').fill(ANSWER);
  await panel.getByRole('button', { name: 'Add entry' }).click();
  const entry = panel.locator('.adm-item', { hasText: ANSWER });
  await entry.waitFor();

  // The search keeps only entries holding the text.
  await panel.getByLabel('Search entries').fill('tuesday');
  await entry.waitFor();
  await panel.getByLabel('Search entries').fill('no such words here');
  await panel.getByText('No entry contains that text.').waitFor();
  await panel.getByLabel('Search entries').fill('');
  await entry.waitFor();

  await panel.getByLabel('A visitor asks').fill(QUESTION);
  await panel.getByRole('button', { name: 'Try', exact: true }).click();
  const result = panel.locator('.adm-try-result');
  await result.locator('.adm-verdict', { hasText: 'Yes' }).waitFor();
  await result.getByText(ANSWER).waitFor();
  await result.getByText(/threshold/).waitFor();

  // Edit the entry: the form takes it, and saving keeps one entry.
  await entry.getByRole('button', { name: /^Edit entry/ }).click();
  assert.match(await panel.getByLabel('Questions').inputValue(), /Do you ship to Mars\?/);
  await panel.getByRole('button', { name: 'Save entry' }).click();
  await panel.getByRole('status').filter({ hasText: 'Entry saved.' }).waitFor();
  assert.equal(await panel.locator('.adm-item', { hasText: ANSWER }).count(), 1);

  const visitorContext = await newContext(browser);
  const visitor = await openPage(visitorContext, site.origin + '/');
  const w = widget(visitor);
  await w.open();
  await w.send(QUESTION);
  await w.waitForMessage(QUESTION);
  await w.waitForMessage(ANSWER, 20000);
  const bot = (await w.state()).messages.find((m) => m.text === ANSWER);
  assert.equal(bot?.sender_type, 'bot');
  await visitorContext.close();

  // A second entry, deleted again.
  await panel.getByLabel('Questions').fill('Temporary?');
  await panel.getByLabel('Answer').fill('Gone soon.');
  await panel.getByRole('button', { name: 'Add entry' }).click();
  const temp = panel.locator('.adm-item', { hasText: 'Gone soon.' });
  await temp.getByRole('button', { name: /^Delete entry/ }).click();
  await temp.waitFor({ state: 'detached' });
  assert.equal(await panel.locator('.adm-item', { hasText: ANSWER }).count(), 1);
});

test('Team: the widgets an agent answers, a reset link, disabling (not the last admin); Widgets: an edit keeps the knowledge, a new token, revoking; the audit log newest first, page by page', async () => {
  const area = adminArea(adminPage);
  const team = await area.open('Team');
  const row = team.locator('.adm-item', { hasText: AGENT.email });
  // Which widgets the agent answers: ticking one saves the choice.
  await row.getByLabel('Mars shop').check();
  await row.getByRole('button', { name: 'Save the widgets ' + AGENT.name + ' answers' }).click();
  await team.locator('.adm-item', { hasText: AGENT.email }).getByText('Answers: Mars shop').waitFor();
  const res = await adminPage.evaluate(() => fetch('/api/admin/users').then((r) => r.json()));
  const bo = res.users.find((u) => u.email === 'bo@example.com');
  assert.equal(bo.widget_ids.length, 1);

  await team.locator('.adm-item', { hasText: AGENT.email }).getByRole('button', { name: 'Password reset link for ' + AGENT.name }).click();
  assert.match(await team.getByLabel('Reset link for ' + AGENT.name, { exact: true }).inputValue(), /\/dashboard#reset=psl_\w+$/);

  // Disabling asks first (the test says yes); the last admin cannot be disabled (409, shown).
  const demo = team.locator('.adm-item', { hasText: 'Demo Agent' });
  await demo.getByRole('button', { name: 'Disable Demo Agent' }).click();
  await team.locator('.adm-item.disabled', { hasText: 'Demo Agent' }).getByText('Disabled').waitFor();
  const self = team.locator('.adm-item', { hasText: ADMIN.email });
  await self.getByRole('button', { name: 'Disable ' + ADMIN.name }).click();
  await self.getByRole('alert').filter({ hasText: 'Could not disable' }).waitFor();

  // Widgets: an edit keeps the bot's knowledge (settings are sent back whole); a new token shows
  // a new snippet; a revoked widget says so.
  const widgetsPanel = await area.open('Widgets');
  /** Clicks Save in `scope` and waits for the server's answer to the PATCH: its status. */
  const save = async (scope) => {
    const [answer] = await Promise.all([
      adminPage.waitForResponse((r) => r.request().method() === 'PATCH' && r.url().includes('/api/admin/widgets/')),
      scope.getByRole('button', { name: 'Save', exact: true }).click(),
    ]);
    return answer.status();
  };
  const shop = widgetsPanel.locator('.adm-item', { hasText: 'Mars shop' });
  await shop.getByRole('button', { name: 'Edit Mars shop' }).click();
  await shop.getByLabel('Greeting').fill('Hello, Mars!');
  assert.equal(await save(shop), 200);
  const after = (await adminPage.evaluate(() => fetch('/api/admin/widgets').then((r) => r.json()))).widgets.find((w) => w.name === 'Mars shop');
  assert.equal(after.settings.greeting, 'Hello, Mars!');
  assert.equal(after.settings.position, 'left');
  assert.equal(after.settings.bot?.knowledge?.length, 1, 'the knowledge is kept');

  // The bot: its kind and settings; only the chosen kind's fields show; the server's refusal is said.
  const editBot = async () => {
    const item = widgetsPanel.locator('.adm-item', { hasText: 'Mars shop' });
    await item.getByRole('button', { name: 'Edit Mars shop' }).click();
    return item;
  };
  let item = await editBot();
  const bot = item.getByRole('group', { name: 'Bot' });
  assert.equal(await bot.getByLabel('Who answers first').inputValue(), 'knowledge');
  assert.equal(await bot.getByLabel('Webhook address').isVisible(), false, 'another kind\'s field is hidden');
  await bot.getByLabel('Confidence needed to answer').fill('1.5');
  assert.equal(await save(item), 422);
  await item.getByRole('alert').filter({ hasText: 'threshold must be between 0 and 1' }).waitFor();
  await bot.getByLabel('Confidence needed to answer').fill('0.35');
  await bot.getByLabel('Handoff message').fill('A person will answer you shortly.');
  assert.equal(await save(item), 200);
  let saved = (await adminPage.evaluate(() => fetch('/api/admin/widgets').then((r) => r.json()))).widgets.find((w) => w.name === 'Mars shop');
  assert.equal(saved.settings.bot.kind, 'knowledge');
  assert.equal(saved.settings.bot.threshold, 0.35);
  assert.equal(saved.settings.bot.handoff_message, 'A person will answer you shortly.');
  assert.equal(saved.settings.bot.knowledge.length, 1, 'the knowledge is kept');
  item = await editBot();
  await item.getByRole('group', { name: 'Bot' }).getByLabel('Who answers first').selectOption('webhook');
  assert.equal(await item.getByLabel('Confidence needed to answer').isVisible(), false);
  await item.getByLabel('Webhook address').fill('https://bot.example/parley');
  await item.getByLabel('Reply token').fill('reply-secret-1');
  assert.equal(await save(item), 200);
  saved = (await adminPage.evaluate(() => fetch('/api/admin/widgets').then((r) => r.json()))).widgets.find((w) => w.name === 'Mars shop');
  assert.equal(saved.settings.bot.kind, 'webhook');
  assert.equal(saved.settings.bot.url, 'https://bot.example/parley');
  assert.equal(saved.settings.bot.reply_token, 'reply-secret-1');
  assert.equal(saved.settings.bot.threshold, 0.35, 'the knowledge bot\'s setting is kept for switching back');
  item = await editBot();
  await item.getByRole('group', { name: 'Bot' }).getByLabel('Who answers first').selectOption('knowledge');
  assert.equal(await save(item), 200);
  await widgetsPanel.locator('.adm-item', { hasText: 'Mars shop' }).getByRole('button', { name: 'New token for Mars shop' }).click();
  const fresh = widgetsPanel.locator('.adm-item', { hasText: 'Mars shop' }).getByLabel('Snippet to paste before </body>', { exact: true });
  await fresh.waitFor();
  const renewed = await fresh.inputValue();
  assert.notEqual(renewed, snippet, 'a new token, a new snippet');
  snippet = renewed;
  await widgetsPanel.getByLabel('Widget name').fill('Old shop');
  await widgetsPanel.getByRole('button', { name: 'Create widget' }).click();
  await widgetsPanel.getByRole('button', { name: 'Revoke Old shop' }).click();
  await widgetsPanel.locator('.adm-item', { hasText: 'Old shop' }).getByText('Revoked').waitFor();

  // Enough acts for a second page of the audit log.
  await adminPage.evaluate(async () => {
    const { csrf_token: csrf } = await fetch('/api/auth/session').then((r) => r.json());
    const { users } = await fetch('/api/admin/users').then((r) => r.json());
    const bo = users.find((u) => u.email === 'bo@example.com');
    for (let i = 0; i < 50; i++) {
      await fetch('/api/admin/users/' + bo.id, { method: 'PATCH', headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf }, body: JSON.stringify({ name: 'Bo Agent' }) });
    }
  });

  const audit = await area.open('Audit log');
  await audit.locator('.adm-item').nth(49).waitFor();
  await audit.getByRole('button', { name: 'Load more' }).click();
  await audit.locator('.adm-item').nth(55).waitFor();
  const ids = await audit.locator('.adm-item').evaluateAll((els) => els.map((el) => Number(el.dataset.auditId)));
  assert.deepEqual(ids, [...ids].sort((a, b) => b - a), 'newest first, the second page after the first');
  assert.equal(new Set(ids).size, ids.length, 'no entry twice');
  const first = audit.locator('.adm-item').first();
  await first.waitFor();
  await audit.getByText('user.invite').first().waitFor();
  await audit.getByText('knowledge.', { exact: false }).first().waitFor();
});

test('the keyboard alone walks the Admin area; screenshots and an accessibility check of Team, Widgets and Knowledge', async () => {
  const page = adminPage;
  const area = adminArea(page);
  await page.keyboard.press('Escape');
  await area.dialog.waitFor({ state: 'hidden' });
  // Tab to the header's Admin button and open it with Enter.
  await page.locator('body').focus();
  let found = false;
  for (let i = 0; i < 40 && !found; i++) {
    await page.keyboard.press('Tab');
    found = await page.evaluate(() => document.activeElement?.textContent === 'Admin');
  }
  assert.ok(found, 'the Admin button is reachable with Tab');
  await page.keyboard.press('Enter');
  await area.dialog.waitFor();
  const focusedTab = () => page.evaluate(() => (document.activeElement?.getAttribute('role') === 'tab' ? document.activeElement.textContent : null));
  assert.equal(await focusedTab(), 'Audit log', 'it opens where it was left');
  await page.keyboard.press('Home');
  assert.equal(await focusedTab(), 'Team');
  await page.keyboard.press('ArrowRight');
  assert.equal(await focusedTab(), 'Widgets');
  await area.dialog.getByRole('tabpanel', { name: 'Widgets' }).waitFor();
  await page.keyboard.press('ArrowRight');
  assert.equal(await focusedTab(), 'Knowledge');
  await page.keyboard.press('End');
  assert.equal(await focusedTab(), 'Audit log');
  // The Team list reloads each time its tab is shown: that reload is held until the keyboard is
  // inside the list, so that the list is re-rendered under the focus (which once dropped it to
  // the page, a keyboard user's place lost).
  const { answer: reread, release } = await holdNextRequest(page, (url) => new URL(url).pathname === '/api/admin/users');
  await page.keyboard.press('Home');
  assert.equal(await focusedTab(), 'Team');
  const team = area.dialog.getByRole('tabpanel', { name: 'Team' });
  const agentRow = team.locator('.adm-item', { hasText: AGENT.email });
  await agentRow.waitFor();
  await reread;
  const userId = await agentRow.getAttribute('data-user-id');
  const focusedControl = () =>
    page.evaluate(() => {
      const el = document.activeElement;
      return { inDialog: !!el?.closest('dialog[open]'), user: el?.closest('.adm-item')?.dataset.userId ?? null, control: el?.getAttribute('aria-label') || el?.labels?.[0]?.textContent || (el?.matches('button') ? el.textContent : '') };
    });
  let before = null;
  for (let i = 0; i < 40 && before?.user !== userId; i++) {
    await page.keyboard.press('Tab');
    before = await focusedControl();
  }
  assert.equal(before.user, userId, "the agent's row is reachable with Tab");
  const oldRow = await agentRow.elementHandle();
  release();
  await page.waitForFunction((row) => !row.isConnected, oldRow);
  assert.deepEqual(await focusedControl(), before, 'the reload keeps the focus on the same control of the same row');
  await area.dialog.getByRole('tab', { name: 'Team' }).focus();

  // Tab through the Team panel to the invitation form: every stop stays in the dialog and shows
  // its focus; then invite someone with the keyboard only.
  let reached = false;
  for (let i = 0; i < 40 && !reached; i++) {
    await page.keyboard.press('Tab');
    const where = await page.evaluate(() => {
      const el = document.activeElement;
      const style = getComputedStyle(el);
      return {
        inDialog: !!el.closest('dialog[open]'),
        outlined: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0,
        label: el.labels?.[0]?.textContent || '',
      };
    });
    assert.ok(where.inDialog, 'focus stays in the Admin area');
    assert.ok(where.outlined, 'the focus is visible (' + where.label + ')');
    reached = where.label === 'Email';
  }
  assert.ok(reached, 'the invitation form is reachable with Tab');
  await page.keyboard.type('cy@example.com');
  await page.keyboard.press('Tab');
  await page.keyboard.type('Cy Agent');
  await page.keyboard.press('Tab'); // the role
  await page.keyboard.press('Tab'); // Invite
  await page.keyboard.press('Enter');
  await team.locator('.adm-item', { hasText: 'cy@example.com' }).waitFor();
  await team.getByText('Send this link to Cy Agent.', { exact: false }).waitFor();
  assert.equal(await page.evaluate(() => document.activeElement?.classList.contains('adm-copy-value')), true, 'the new link has the focus');
  await page.keyboard.press('Escape');
  await area.dialog.waitFor({ state: 'hidden' });
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Admin', 'the focus went back to the Admin button');

  for (const [size, viewport] of [['desktop', DESKTOP], ['phone', PHONE]]) {
    await page.setViewportSize(viewport);
    for (const [tab, ready] of [['Team', '.adm-item'], ['Widgets', '.adm-item'], ['Knowledge', '.adm-item']]) {
      const panel = await area.open(tab);
      await panel.locator(ready).first().waitFor();
      await shot(page, 'admin-' + tab.toLowerCase() + '-' + size);
      assert.deepEqual(await accessibilityProblems(page), [], 'the ' + tab + ' panel at ' + size + ' size');
      assert.equal(await panel.evaluate((el) => el.scrollWidth <= el.clientWidth + 1), true, 'no sideways scroll in ' + tab + ' at ' + size + ' size');
    }
  }
  await page.setViewportSize(DESKTOP);
  assert.deepEqual(page.errors, []);
  await agentContext?.close();
  await adminContext?.close();
});
