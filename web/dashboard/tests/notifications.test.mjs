// Notifications: the Notifications dialog (from the header's bell) lists each kind of news with a
// tick box, the chime, desktop notifications and what the browser allows; desktop notifications
// are asked for only on a click. On a phone the header's actions fold into a Menu. With the tab in the background, a new conversation brings a
// desktop notification (the browser's own Notification, recorded here) and a flashing title, and
// clicking the notification opens the conversation; a kind turned off brings nothing; nothing
// comes for the conversation the agent is looking at. Screenshots at desktop and phone sizes and
// the accessibility check.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startParley } from '../../tests/lib/server.mjs';
import { startPages } from '../../tests/lib/pages.mjs';
import { SCREENSHOTS, launch, newContext, openPage, signInWithToken, widget } from '../../tests/lib/browser.mjs';
import { accessibilityProblems } from '../../tests/lib/a11y.mjs';

let parley, pages, browser;

before(async () => {
  parley = await startParley({ agent: true });
  pages = await startPages(parley);
  browser = await launch();
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

/** Records every desktop notification the page makes (still the browser's own), and lets the
 * test say whether the page has the focus and is in front. */
const RECORD = () => {
  const Real = window.Notification;
  window.__notes = [];
  window.Notification = class extends Real {
    constructor(title, options) {
      super(title, options);
      window.__notes.push(this);
    }
  };
  window.__front = true;
  document.hasFocus = () => window.__front;
  Object.defineProperty(document, 'hidden', { configurable: true, get: () => !window.__front });
  Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => (window.__front ? 'visible' : 'hidden') });
};

const setFront = (page, front) =>
  page.evaluate((on) => {
    window.__front = on;
    document.dispatchEvent(new Event('visibilitychange'));
  }, front);

async function dashboard(viewport = { width: 1280, height: 800 }) {
  const context = await newContext(browser, { viewport, ...(viewport.width < 500 ? { isMobile: true, hasTouch: true } : {}) });
  await context.grantPermissions(['notifications'], { origin: parley.baseUrl });
  await context.addInitScript(RECORD);
  const page = await openPage(context);
  await signInWithToken(page, parley);
  await page.waitForFunction(() => window.ParleyDashboard?.state?.inboxLoaded === true, null, { timeout: 20000 });
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

const notes = (page) => page.evaluate(() => window.__notes.map((n) => ({ title: n.title, body: n.body, tag: n.tag })));

test('a new conversation in the background: a desktop notification that opens it, and a flashing title', async () => {
  const { context, page } = await dashboard();
  await page.getByRole('button', { name: 'Notifications' }).click();
  const dialog = page.getByRole('dialog', { name: 'Notifications' });
  for (const label of ['A new conversation', 'A message in a conversation assigned to me', 'A mention of me in a note', 'A conversation handed to a human', 'A chime']) {
    assert.equal(await dialog.getByLabel(label).isChecked(), true, label + ' is on by default');
  }
  await dialog.getByText('Desktop notifications are allowed in this browser.').waitFor();
  assert.equal(await dialog.getByRole('button', { name: 'Allow desktop notifications' }).isVisible(), false, 'already allowed');
  await shot(page, 'notifications');
  assert.deepEqual(await accessibilityProblems(page), []);
  await page.keyboard.press('Escape');
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Notifications', 'the focus goes back');

  await setFront(page, false);
  const first = await visitor('Hello, is the shop open on Sunday?');
  await page.waitForFunction(() => window.__notes.length === 1);
  const [made] = await notes(page);
  assert.equal(made.title, 'Parley inbox');
  assert.match(made.body, /^New conversation: Test User: Hello, is the shop open on Sunday\?/);
  assert.equal(made.tag, 'parley-' + first.id);
  await page.waitForFunction(() => document.title.startsWith('●'));

  // Clicking it brings the conversation up.
  await page.evaluate(() => window.__notes[0].onclick());
  await page.waitForFunction((id) => window.ParleyDashboard.state.conversationId === id, first.id);
  await setFront(page, true);
  await page.waitForFunction(() => !document.title.startsWith('●'));

  // Looking at it: the visitor's next message brings nothing.
  await first.w.send('And on Monday?');
  await page.locator('.messages .msg', { hasText: 'And on Monday?' }).waitFor();
  assert.equal((await notes(page)).length, 1, 'nothing for the conversation in front of the agent');

  // Turned off: a new conversation brings nothing.
  await page.getByRole('button', { name: 'Notifications' }).click();
  await dialog.getByLabel('A new conversation').uncheck();
  await dialog.getByRole('button', { name: 'Close' }).click();
  await page.getByRole('tab', { name: /^Bot/ }).click();
  await setFront(page, false);
  const second = await visitor('Second visitor here');
  await page.locator('.convs .conv', { hasText: 'Second visitor here' }).waitFor({ state: 'attached' });
  assert.equal((await notes(page)).length, 1, 'the kind is off');
  // The choice is kept for this agent in this browser.
  await page.reload();
  await page.waitForFunction(() => window.ParleyDashboard?.state?.agentsLive === true, null, { timeout: 20000 });
  await page.getByRole('button', { name: 'Notifications' }).click();
  assert.equal(await dialog.getByLabel('A new conversation').isChecked(), false);
  await dialog.getByLabel('A new conversation').check();
  assert.deepEqual(page.errors, []);
  await Promise.all([first.context.close(), second.context.close(), context.close()]);
});

test('the Notifications dialog on a phone, and asking the browser only on a click', async () => {
  const context = await newContext(browser, { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  // A headless browser cannot show its permission prompt: this one answers "granted" when asked,
  // and counts the asking.
  await context.addInitScript(() => {
    let permission = 'default';
    window.__asked = 0;
    Object.defineProperty(Notification, 'permission', { configurable: true, get: () => permission });
    Notification.requestPermission = async () => {
      window.__asked++;
      permission = 'granted';
      return permission;
    };
  });
  const page = await openPage(context);
  await signInWithToken(page, parley);
  assert.equal(await page.evaluate(() => window.__asked), 0, 'nothing asked at sign-in');
  // On a phone the header is one line; its actions are in a Menu, each with its words.
  const bar = await page.locator('header.top').boundingBox();
  assert.ok(bar.height < 64, 'one line: ' + bar.height);
  const menu = page.getByRole('button', { name: 'Menu' });
  assert.equal(await page.getByRole('button', { name: 'Sign out' }).isVisible(), false);
  await menu.click();
  assert.equal(await menu.getAttribute('aria-expanded'), 'true');
  const signOut = page.getByRole('button', { name: 'Sign out' });
  assert.ok((await signOut.boundingBox()).width > 60, 'Sign out is labelled in words');
  await shot(page, 'header-menu-phone');
  await page.keyboard.press('Escape');
  await menu.click();
  await page.getByRole('button', { name: 'Notifications' }).click();
  assert.equal(await menu.getAttribute('aria-expanded'), 'false', 'the menu closes as it opens the dialog');
  const dialog = page.getByRole('dialog', { name: 'Notifications' });
  await dialog.getByText('Desktop notifications are not allowed yet.').waitFor();
  const allow = dialog.getByRole('button', { name: 'Allow desktop notifications' });
  await allow.waitFor();
  await shot(page, 'notifications-phone');
  assert.deepEqual(await accessibilityProblems(page), []);
  await allow.click();
  await dialog.getByText('Desktop notifications are allowed in this browser.').waitFor();
  assert.equal(await page.evaluate(() => window.__asked), 1, 'asked once, on the click');
  assert.equal(await allow.isVisible(), false);
  await context.close();
});
