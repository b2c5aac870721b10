// People with passwords in the agents' dashboard (/dashboard) against the real server: the
// first-run link creating the first admin (then reload, sign out, the link spent), signing in with
// a wrong and then the right password and answering a visitor live (every write with the CSRF
// header, channels authorised by the cookie), too many attempts, other tabs hearing of a sign-in
// and a sign-out, the sessions dialog signing another device out, the keyboard alone, screenshots
// at desktop and phone size, and an accessibility check of the sign-in and setup pages.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startParley } from '../../tests/lib/server.mjs';
import { startPages } from '../../tests/lib/pages.mjs';
import { SCREENSHOTS, launch, newContext, openPage, widget } from '../../tests/lib/browser.mjs';
import { accessibilityProblems } from '../../tests/lib/a11y.mjs';

const ADMIN = { email: 'ada@example.com', name: 'Ada Admin', password: 'correct horse battery' };
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

let parley, pages, browser;

before(async () => {
  parley = await startParley({ setup: true, agent: true });
  pages = await startPages(parley);
  browser = await launch();
  // An admin with a password, made from the shell as an operator would (the password on stdin).
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

/** The sign-in screen and the signed-in dashboard, as a person uses them. */
function dashboard(page, server = parley) {
  const d = {
    email: page.getByLabel('Email'),
    password: page.getByLabel('Password', { exact: true }),
    signInButton: page.getByRole('button', { name: 'Sign in', exact: true }),
    alert: page.getByRole('alert').filter({ hasText: /\S/ }),
    async open() {
      await page.goto(server.dashboardUrl);
      await d.email.waitFor();
    },
    async signIn({ email = ADMIN.email, password = ADMIN.password } = {}) {
      await d.email.fill(email);
      await d.password.fill(password);
      await d.signInButton.click();
    },
    /** Signed in, and the team channel subscribed (its auth call went through). */
    async live() {
      await page.waitForFunction(() => window.ParleyDashboard?.state?.agentsLive === true, null, { timeout: 20000 });
    },
    state: () => page.evaluate(() => window.ParleyDashboard?.state ?? null),
    tab: (name) => page.getByRole('tab', { name: new RegExp('^' + name) }),
    row: (text) => page.locator('.convs .conv', { hasText: text }),
    message: (text) => page.locator('.messages .msg:not(.pending)').filter({ has: page.locator('.bubble', { hasText: text }) }),
    signOut: () => page.getByRole('button', { name: 'Sign out', exact: true }).click(),
    /** What this browser keeps in localStorage, all of it as one string. */
    stored: () => page.evaluate(() => JSON.stringify(Object.fromEntries(Object.entries(localStorage)))),
  };
  return d;
}

/** Records the sign-in answers (their CSRF tokens) and the headers of the API calls `page` makes. */
function recordAuth(page) {
  const seen = { csrf: [], calls: [] };
  page.on('response', async (res) => {
    const path = new URL(res.url()).pathname;
    if (!['/api/auth/login', '/api/auth/setup', '/api/auth/session'].includes(path) || !res.ok()) return;
    const { csrf_token: csrf } = await res.json();
    if (csrf) seen.csrf.push(csrf);
  });
  page.on('request', (req) => {
    const url = new URL(req.url());
    if (url.pathname.startsWith('/api/')) seen.calls.push({ method: req.method(), path: url.pathname, headers: req.headers() });
  });
  return seen;
}

const sessionCookie = async (context) => (await context.cookies()).find((c) => c.name === 'parley_session');

test('first run: the setup link creates the first admin, who lands in the inbox, stays signed in on reload, and signs out', async () => {
  const server = await startParley({ setup: true });
  const context = await newContext(browser, { viewport: DESKTOP });
  try {
    assert.match(server.setupUrl, /\/dashboard#setup=psl_\w+/, 'parley serve printed the link');
    // Before anyone has a password, the sign-in page leads with the token form and says why.
    const early = await openPage(context, server.dashboardUrl);
    await early.getByRole('status').filter({ hasText: 'Nobody has a password here yet' }).waitFor();
    await early.getByLabel('Agent token').waitFor();
    assert.equal(await early.getByLabel('Email').isVisible(), false, 'the password form is not the first');
    await early.close();

    const page = await openPage(context);
    const seen = recordAuth(page);
    await page.goto(server.setupUrl);
    await page.getByRole('heading', { name: 'Create the first admin' }).waitFor();
    const d = dashboard(page, server);
    const form = {
      email: page.getByLabel('Email'),
      name: page.getByLabel('Name'),
      password: page.getByLabel('Password', { exact: true }),
      again: page.getByLabel('Password again'),
      submit: page.getByRole('button', { name: 'Create admin and sign in' }),
    };
    assert.equal(await form.email.evaluate((el) => el === document.activeElement), true, 'the email field has the focus');
    assert.equal(await form.password.getAttribute('autocomplete'), 'new-password');
    await shot(page, 'setup-desktop');
    await page.setViewportSize(PHONE);
    await shot(page, 'setup-phone');
    assert.equal(await page.evaluate(() => document.documentElement.scrollWidth <= innerWidth), true, 'no sideways scroll on a phone');
    await page.setViewportSize(DESKTOP);
    assert.deepEqual(await accessibilityProblems(page), [], 'the setup page');

    // Checked here before anything is sent: too short, then two different passwords.
    await form.email.fill('root@example.com');
    await form.name.fill('Rosa Root');
    await form.password.fill('short');
    await form.again.fill('short');
    await form.submit.click();
    await d.alert.filter({ hasText: 'at least 8 characters' }).waitFor();
    assert.equal(await form.password.getAttribute('aria-invalid'), 'true');
    await form.password.fill('a long enough password');
    await form.again.fill('a long enough passwort');
    await form.submit.click();
    await d.alert.filter({ hasText: 'The two passwords differ' }).waitFor();
    assert.equal(await form.again.getAttribute('aria-invalid'), 'true');
    assert.deepEqual(await accessibilityProblems(page), [], 'the setup page with an error');
    assert.equal(seen.calls.filter((c) => c.method === 'POST').length, 0, 'nothing was sent');

    await form.again.fill('a long enough password');
    await form.submit.click();
    await d.live();
    await page.locator('.agent-name', { hasText: 'Rosa Root' }).waitFor();
    const state = await d.state();
    assert.equal(state.signedInWith, 'password');
    assert.equal(state.agent.email, 'root@example.com');
    assert.doesNotMatch(page.url(), /setup=/, 'the spent token left the address');
    const cookie = await sessionCookie(context);
    assert.ok(cookie?.httpOnly, 'the session is an HttpOnly cookie');
    assert.equal(seen.csrf.length, 1);
    const stored = await d.stored();
    assert.doesNotMatch(stored, /"token"/, 'no token in localStorage');
    assert.equal(stored.includes(seen.csrf[0]), false, 'nor the CSRF token');
    assert.equal(stored.includes(cookie.value), false, 'nor the session');

    // A reload asks the server who the cookie is: still signed in, with no form in between.
    await page.reload();
    await d.live();
    assert.equal((await d.state()).agent.email, 'root@example.com');
    assert.equal(await d.email.count(), 0);

    await d.signOut();
    await d.email.waitFor();
    assert.equal(await page.evaluate(() => fetch('/api/auth/session').then((r) => r.status)), 401, 'the session ended on the server');
    assert.equal(await sessionCookie(context), undefined, 'and its cookie is gone');
    const logout = seen.calls.find((c) => c.path === '/api/auth/logout');
    assert.equal(logout?.headers['x-csrf-token'], seen.csrf[0], 'signing out carried the CSRF token');

    // The link is spent: opened again, it says so and offers the sign-in form.
    await page.goto(server.setupUrl);
    await page.getByRole('status').filter({ hasText: 'Parley already has an admin' }).waitFor();
    await d.email.waitFor();
    assert.doesNotMatch(page.url(), /setup=/);
    await d.signIn({ email: 'ROOT@example.com', password: 'a long enough password' });
    await d.live();
    assert.deepEqual(page.errors, []);
  } finally {
    await context.close();
    await server.stop();
  }
});

test('a wrong password is refused with a message; the right one opens the inbox, where the agent answers a visitor live', async () => {
  const context = await newContext(browser, { viewport: DESKTOP });
  const page = await openPage(context);
  const seen = recordAuth(page);
  const d = dashboard(page);
  await d.open();
  await d.signIn({ password: 'not the password' });
  await d.alert.filter({ hasText: 'The email or the password is wrong.' }).waitFor();
  assert.equal(await d.password.getAttribute('aria-invalid'), 'true');
  assert.equal(await d.password.evaluate((el) => el === document.activeElement), true, 'the password field has the focus again');
  assert.equal(await page.locator('.app').count(), 0, 'no inbox');
  await shot(page, 'sign-in-error');

  await d.signIn();
  await d.live();
  await page.locator('.agent-name', { hasText: ADMIN.name }).waitFor();
  assert.equal((await d.state()).signedInWith, 'password');
  await page.getByRole('radio', { name: 'Online', exact: true }).check();

  // A visitor writes; the agent answers from the dashboard and the visitor sees it over the socket.
  const visitorContext = await newContext(browser);
  const visitorPage = await openPage(visitorContext, pages.page());
  const w = widget(visitorPage);
  await w.open();
  await w.send('Hello, is a person there?');
  await w.waitForMessage('Hello, is a person there?');
  await visitorPage.waitForFunction(() => window.ChatbotWidget.state.realtimeConnected === true);
  await visitorPage.waitForFunction(() => window.ChatbotWidget.state.agentsOnline === true);
  await d.tab('Bot').click();
  await d.row('Hello, is a person there?').click();
  await d.message('Hello, is a person there?').waitFor();
  await page.waitForFunction(() => window.ParleyDashboard.state.conversationLive);
  await page.locator('#pd-reply').fill('Yes, Ada here. How can I help?');
  await page.locator('#pd-reply').press('Enter');
  await w.waitForMessage('Yes, Ada here. How can I help?');
  assert.equal(await w.message('Yes, Ada here. How can I help?').locator('.meta b').textContent(), ADMIN.name);
  assert.ok(visitorPage.logs.includes('✓ New message received via reverb: Yes, Ada here. How can I help?'), 'it came over the socket');
  await d.message('Yes, Ada here. How can I help?').waitFor();
  await w.send('Thanks!');
  await d.message('Thanks!').waitFor();

  // Every write carried the session's CSRF token and no bearer token; the channels were signed
  // by the same cookie session.
  const csrf = seen.csrf.at(-1);
  const writes = seen.calls.filter((c) => c.method !== 'GET' && c.path.startsWith('/api/agent/'));
  for (const path of ['/api/agent/availability', '/api/agent/broadcasting/auth', `/api/agent/conversations/${(await d.state()).conversationId}/messages`]) {
    assert.ok(writes.some((c) => c.path === path), 'a write to ' + path);
  }
  for (const call of writes) {
    assert.equal(call.headers['x-csrf-token'], csrf, call.method + ' ' + call.path + ' carries the CSRF token');
    assert.equal(call.headers.authorization, undefined, call.method + ' ' + call.path + ' carries no bearer token');
  }
  const channels = seen.calls.filter((c) => c.path === '/api/agent/broadcasting/auth').length;
  assert.ok(channels >= 3, 'private-agents, the agent\'s own channel and the conversation\'s: ' + channels);
  await shot(page, 'signed-in-by-password');

  assert.deepEqual(page.errors, []);
  assert.deepEqual(visitorPage.errors, []);
  await visitorContext.close();
  await context.close();
});

test('too many failed sign-ins for one email: the form says how long to wait', async () => {
  const email = 'someone-else@example.com';
  for (let i = 0; i < 10; i++) {
    const res = await fetch(parley.baseUrl + '/api/auth/login', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ email, password: 'guess ' + i }),
    });
    assert.equal(res.status, 401);
  }
  const context = await newContext(browser);
  const page = await openPage(context);
  const d = dashboard(page);
  await d.open();
  await d.signIn({ email, password: 'one more guess' });
  const alert = d.alert.filter({ hasText: /^Too many attempts, try again in \d+ s\.$/ });
  await alert.waitFor();
  assert.ok(Number((await alert.textContent()).match(/\d+/)[0]) > 0);
  assert.equal(await page.locator('.app').count(), 0);
  assert.deepEqual(page.errors, []);
  await context.close();
});

test('other tabs follow: signing in shows their inbox, signing out returns them to the form', async () => {
  const context = await newContext(browser);
  const first = await openPage(context);
  const second = await openPage(context);
  const a = dashboard(first);
  const b = dashboard(second);
  await a.open();
  await b.open();
  await a.signIn();
  await a.live();
  // The other tab was showing the form: it hears of the sign-in and asks the server who it is.
  await b.live();
  assert.equal((await b.state()).agent.email, ADMIN.email);

  await a.signOut();
  await a.email.waitFor();
  await second.getByRole('status').filter({ hasText: 'You signed out in another tab.' }).waitFor();
  await b.email.waitFor();
  assert.equal(await second.locator('.app').count(), 0);
  assert.deepEqual(first.errors, []);
  assert.deepEqual(second.errors, []);
  await context.close();
});

test('other tabs follow a token sign-in and sign-out as well', async () => {
  const context = await newContext(browser);
  const first = await openPage(context);
  const second = await openPage(context);
  const a = dashboard(first);
  const b = dashboard(second);
  await a.open();
  await b.open();
  await first.getByRole('button', { name: 'Use an API token instead' }).click();
  await first.getByLabel('Agent token').fill(parley.agentToken);
  await first.getByLabel('Agent token').press('Enter');
  await a.live();
  await b.live();
  assert.equal((await b.state()).signedInWith, 'token');
  assert.equal(await first.getByRole('button', { name: 'Sessions' }).count(), 0, 'a token has no sessions to list');
  await a.signOut();
  await first.getByLabel('Agent token').waitFor();
  await second.getByRole('status').filter({ hasText: 'You signed out in another tab.' }).waitFor();
  await second.getByLabel('Agent token').waitFor();
  assert.equal(await first.evaluate(() => localStorage.getItem('parley-dashboard:token')), null);
  assert.deepEqual(first.errors, []);
  assert.deepEqual(second.errors, []);
  await context.close();
});

test('a session that ends elsewhere returns the page to the form: "Your session has ended"', async () => {
  const context = await newContext(browser);
  const page = await openPage(context);
  const d = dashboard(page);
  await d.open();
  await d.signIn();
  await d.live();
  // Ended from outside the page (as another device's sessions list does): the next call is refused.
  const cookie = await sessionCookie(context);
  const ended = await page.evaluate(async () => {
    const { session_id: id, csrf_token: csrf } = await (await fetch('/api/auth/session')).json();
    return (await fetch('/api/auth/sessions/' + id, { method: 'DELETE', headers: { 'X-CSRF-Token': csrf } })).status;
  });
  assert.equal(ended, 200);
  assert.ok(cookie);
  // Any call now is refused (choosing Away, here, unless a poll was refused first); the page goes
  // back to the form at once.
  await page.evaluate(() => document.getElementById('pd-av-away')?.click());
  await d.alert.filter({ hasText: 'Your session has ended. Sign in again.' }).waitFor();
  await d.email.waitFor();
  assert.equal(await page.locator('.app').count(), 0);
  assert.deepEqual(page.errors, []);
  await context.close();
});

test('the Sessions dialog lists where the person is signed in and signs another device out', async () => {
  const laptop = await newContext(browser, { viewport: DESKTOP });
  const phone = await newContext(browser, { viewport: PHONE, userAgent: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1' });
  const page = await openPage(laptop);
  const other = await openPage(phone);
  const d = dashboard(page);
  const o = dashboard(other);
  for (const x of [d, o]) {
    await x.open();
    await x.signIn();
    await x.live();
  }
  const sessionId = (p) => p.evaluate(() => fetch('/api/auth/session').then((r) => r.json()).then((b) => b.session_id));
  const mine = await sessionId(page);
  const theirs = await sessionId(other);

  const button = page.getByRole('button', { name: 'Sessions' });
  await button.click();
  const dialog = page.getByRole('dialog', { name: 'Your sessions' });
  await dialog.waitFor();
  const here = dialog.locator(`li[data-session-id="${mine}"]`);
  const there = dialog.locator(`li[data-session-id="${theirs}"]`);
  await here.filter({ hasText: 'This browser' }).waitFor();
  assert.equal(await here.getByRole('button').count(), 0, 'this browser signs out with the header\'s button');
  await there.filter({ hasText: 'Safari 17 on iOS' }).waitFor();
  assert.deepEqual(await accessibilityProblems(page), [], 'the dialog');
  await shot(page, 'sessions');
  await page.setViewportSize(PHONE);
  await shot(page, 'sessions-phone');
  await page.setViewportSize(DESKTOP);

  await there.getByRole('button', { name: /^Sign out Safari 17 on iOS/ }).click();
  await there.waitFor({ state: 'detached' });
  await here.waitFor();
  // On the phone, the next call is refused and the page goes back to the form.
  await other.evaluate(() => document.getElementById('pd-av-away')?.click());
  await o.alert.filter({ hasText: 'Your session has ended. Sign in again.' }).waitFor();
  await o.email.waitFor();

  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'hidden' });
  assert.equal(await button.evaluate((el) => el === document.activeElement), true, 'the focus went back to the button');
  assert.equal((await d.state()).signedInWith, 'password', 'this browser is still signed in');
  assert.deepEqual(page.errors, []);
  assert.deepEqual(other.errors, []);
  await laptop.close();
  await phone.close();
});

test('the Sessions dialog makes an API token that works for scripts, shown once, and revokes it', async () => {
  const context = await newContext(browser, { viewport: DESKTOP });
  const page = await openPage(context);
  const d = dashboard(page);
  await d.open();
  await d.signIn();
  await d.live();
  await page.getByRole('button', { name: 'Sessions' }).click();
  const dialog = page.getByRole('dialog', { name: 'Your sessions' });
  await dialog.waitFor();
  const meWith = (token) =>
    page.evaluate((t) => fetch('/api/agent/me', { headers: { Authorization: 'Bearer ' + t }, credentials: 'omit' }).then((r) => r.status), token);

  await dialog.getByRole('button', { name: 'Make a new API token' }).click();
  const shown = dialog.getByRole('textbox', { name: 'Your API token' });
  await shown.waitFor();
  const first = await shown.inputValue();
  assert.match(first, /^cba_[A-Za-z0-9]{48}$/);
  await dialog.getByText('shown only this once').waitFor();
  assert.equal(await meWith(first), 200, 'the token works for a script');
  assert.deepEqual(await accessibilityProblems(page), [], 'the dialog with a token shown');
  await shot(page, 'sessions-api-token');
  await page.setViewportSize(PHONE);
  await shot(page, 'sessions-api-token-phone');
  await page.setViewportSize(DESKTOP);

  await dialog.getByRole('button', { name: 'Make a new API token' }).click();
  await page.waitForFunction((old) => {
    const box = [...document.querySelectorAll('dialog input')].find((el) => el.value.startsWith('cba_'));
    return box && box.value !== old;
  }, first);
  const second = await dialog.getByRole('textbox', { name: 'Your API token' }).inputValue();
  assert.equal(await meWith(first), 401, 'the old token stopped');
  assert.equal(await meWith(second), 200);

  page.once('dialog', (confirm) => confirm.accept());
  await dialog.getByRole('button', { name: 'Revoke API token' }).click();
  await dialog.getByText('Your API token is revoked.').waitFor();
  assert.equal(await shown.count(), 0, 'the token is no longer on the page');
  assert.equal(await meWith(second), 401);
  assert.equal((await d.state()).signedInWith, 'password', 'still signed in');
  assert.deepEqual(page.errors, []);
  await context.close();
});

test('keyboard only: Tab through the sign-in form, switch to a token and back, sign in with Enter', async () => {
  const context = await newContext(browser);
  const page = await openPage(context);
  const d = dashboard(page);
  await d.open();
  const focused = () => page.evaluate(() => {
    const el = document.activeElement;
    return el.id || el.textContent.trim();
  });
  assert.equal(await focused(), 'pd-email', 'the email field has the focus at once');
  await page.keyboard.type(ADMIN.email);
  await page.keyboard.press('Tab');
  assert.equal(await focused(), 'pd-password');
  await page.keyboard.type(ADMIN.password);
  await page.keyboard.press('Tab');
  assert.equal(await focused(), 'Sign in');
  await page.keyboard.press('Tab');
  assert.equal(await focused(), 'Use an API token instead');
  await page.keyboard.press('Enter');
  assert.equal(await focused(), 'pd-token', 'the token form, its field focused');
  await page.keyboard.press('Tab');
  assert.equal(await focused(), 'Sign in');
  await page.keyboard.press('Tab');
  assert.equal(await focused(), 'Use your email and password instead');
  await page.keyboard.press('Enter');
  assert.equal(await focused(), 'pd-email', 'back, what was typed still there');
  assert.equal(await d.email.inputValue(), ADMIN.email);
  await page.keyboard.press('Tab');
  assert.equal(await focused(), 'pd-password');
  await page.keyboard.press('Enter');
  await d.live();
  assert.equal((await d.state()).agent.email, ADMIN.email);
  assert.deepEqual(page.errors, []);
  await context.close();
});

test('the sign-in page at desktop and phone size, and its accessibility', async () => {
  const context = await newContext(browser, { viewport: DESKTOP });
  const page = await openPage(context);
  const d = dashboard(page);
  await d.open();
  assert.equal(await d.email.getAttribute('autocomplete'), 'username');
  assert.equal(await d.password.getAttribute('autocomplete'), 'current-password');
  assert.equal(await d.password.getAttribute('type'), 'password');
  assert.deepEqual(await accessibilityProblems(page), [], 'the sign-in page');
  await shot(page, 'sign-in-desktop');
  await page.setViewportSize(PHONE);
  await shot(page, 'sign-in-phone');
  assert.equal(await page.evaluate(() => document.documentElement.scrollWidth <= innerWidth), true, 'no sideways scroll on a phone');

  // An error is announced (role=alert) and tied to the fields.
  await d.signInButton.click();
  await d.alert.filter({ hasText: 'Enter your email.' }).waitFor();
  assert.equal(await d.email.getAttribute('aria-invalid'), 'true');
  assert.deepEqual(await accessibilityProblems(page), [], 'the sign-in page with an error');
  await shot(page, 'sign-in-phone-error');

  await page.getByRole('button', { name: 'Use an API token instead' }).click();
  await page.getByLabel('Agent token').waitFor();
  assert.deepEqual(await accessibilityProblems(page), [], 'the token form');
  await page.setViewportSize(DESKTOP);
  await shot(page, 'sign-in-token');
  assert.deepEqual(page.errors, []);
  await context.close();
});
