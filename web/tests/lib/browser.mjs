// Debian's Chromium driven by playwright-core (no browser download), with a fake camera and
// microphone so voice notes can be recorded headless, plus helpers that speak the widget's UI:
// open it, send, wait for a message, read ChatbotWidget.state. Console lines and page errors
// are collected per page, so tests can assert on the seed's log lines and on "no errors".

import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './server.mjs';

export const SCREENSHOTS = join(REPO_ROOT, 'artifacts', 'screenshots');

export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    args: ['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', '--autoplay-policy=no-user-gesture-required'],
  });
}

/** A page with its console lines and errors recorded. */
export async function openPage(context, url) {
  const page = await context.newPage();
  page.logs = [];
  page.errors = [];
  page.on('console', (msg) => page.logs.push(msg.text()));
  page.on('pageerror', (error) => page.errors.push(String(error)));
  if (url) await page.goto(url);
  return page;
}

export async function newContext(browser, options = {}) {
  return browser.newContext({ permissions: ['microphone'], ...options });
}

/** The widget as a visitor uses it. Playwright's CSS locators pierce the open shadow root. */
export function widget(page) {
  const w = {
    launcher: page.locator('#parley-chatbot-widget .launcher'),
    panel: page.locator('#parley-chatbot-widget .panel'),
    input: page.locator('#parley-chatbot-widget .composer textarea'),
    list: page.locator('#parley-chatbot-widget .list'),
    badge: page.locator('#parley-chatbot-widget .badge'),
    async ready() {
      await page.waitForFunction(() => window.ChatbotWidget && window.ChatbotWidget.__parley && document.querySelector('#parley-chatbot-widget'), null, { timeout: 15000 });
    },
    async open() {
      await w.ready();
      if (!(await w.panel.isVisible())) await w.launcher.click();
      await w.panel.waitFor({ state: 'visible' });
    },
    async send(text) {
      await w.input.fill(text);
      await w.input.press('Enter');
    },
    /** A message bubble (stored, not pending) whose text contains `text`. */
    message(text) {
      return page.locator('#parley-chatbot-widget .list .msg:not(.pending)', { hasText: text });
    },
    async waitForMessage(text, timeout = 15000) {
      await w.message(text).first().waitFor({ state: 'visible', timeout });
    },
    state: () =>
      page.evaluate(() => {
        const s = window.ChatbotWidget.state;
        return {
          conversationId: s.conversationId,
          realtimeConnected: s.realtimeConnected,
          realtimeProvider: s.realtimeProvider,
          subscribed: !!s.channelSubscription,
          unread: s.unread,
          messages: s.messages.map((m) => ({ id: m.id, text: m.message, sender_type: m.sender_type, client_id: m.client_id, pending: !!m._pending })),
        };
      }),
    async waitForState(predicate, arg, timeout = 20000) {
      await page.waitForFunction(predicate, arg, { timeout, polling: 100 });
    },
  };
  return w;
}

export async function screenshot(page, name) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, 'widget-' + name + '.png') });
}

/** The conversation id and visitor token a page keeps in localStorage. */
export function session(page) {
  return page.evaluate(() => {
    for (let i = 0; i < localStorage.length; i++) {
      const key = localStorage.key(i);
      if (key.startsWith('parley:') && key.endsWith(':session')) return { key, value: JSON.parse(localStorage.getItem(key)) };
    }
    return null;
  });
}

/**
 * Counts `page`'s requests whose URL contains `urlPart`; `settled()` resolves once none is in
 * flight (failing after 10 s). A test that posts a message right after a client went live waits
 * for this first, so a catch-up fetch still on its way cannot be what shows the message.
 */
export function trackFetches(page, urlPart) {
  let inFlight = 0;
  page.on('request', (r) => { if (r.url().includes(urlPart)) inFlight++; });
  for (const done of ['requestfinished', 'requestfailed']) {
    page.on(done, (r) => { if (r.url().includes(urlPart)) inFlight--; });
  }
  return {
    async settled() {
      for (let i = 0; inFlight > 0; i++) {
        if (i >= 200) throw new Error(`requests to ${urlPart} never settled`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
  };
}

/**
 * Holds the next request that `matches` (a URL predicate) accepts: it reaches the server at once,
 * and its answer reaches the page only on `release()`, as a slow network would deliver it.
 * `answer` resolves to the answer's JSON (what the page will be given late). Later requests pass.
 */
export async function holdNextRequest(page, matches) {
  let release;
  const released = new Promise((resolve) => (release = resolve));
  let answered;
  const answer = new Promise((resolve) => (answered = resolve));
  let holding = true;
  await page.route(matches, async (route) => {
    if (!holding) return route.continue();
    holding = false;
    const response = await route.fetch();
    answered(await response.json());
    await released;
    await route.fulfill({ response });
  });
  return { answer, release };
}

/**
 * Passes `page`'s realtime socket through a proxy that drops the frames from the server for
 * which `drop(text)` is true, as a lost broadcast would. `close(code, reason)` then breaks the
 * connection the page holds.
 */
export async function dropFrames(page, drop) {
  let client = null;
  await page.routeWebSocket(/\/app\//, (ws) => {
    const server = ws.connectToServer();
    client = ws;
    ws.onMessage((m) => server.send(m));
    server.onMessage((m) => {
      if (!drop(String(m))) ws.send(m);
    });
  });
  return { close: (code, reason) => client.close({ code, reason }) };
}

/**
 * Clicks the dashboard header's action `name` (Admin, Reports, Notifications, Sessions, Sign
 * out): on a phone those are in the header's Menu, which is opened first.
 */
export async function headerAction(page, name) {
  const button = page.getByRole('button', { name, exact: true });
  const menu = page.getByRole('button', { name: 'Menu', exact: true });
  if (!(await button.isVisible()) && (await menu.isVisible())) await menu.click();
  await button.click();
}

/**
 * Signs the dashboard in with an agent token (the demo agent's by default) and waits until the
 * team channel is live; where people have passwords the token form is one click away.
 */
export async function signInWithToken(page, server, token = server.agentToken) {
  await page.goto(server.dashboardUrl);
  const field = page.getByLabel('Agent token');
  const toggle = page.getByRole('button', { name: 'Use an API token instead' });
  // Whichever shows first: the token form itself, or the password form's way to it.
  await page.locator('#pd-token:visible, button:visible:text-is("Use an API token instead")').first().waitFor();
  if (!(await field.isVisible())) await toggle.click();
  await field.fill(token);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.waitForFunction(() => window.ParleyDashboard?.state?.agentsLive === true, null, { timeout: 20000 });
}

/**
 * A new browser at `viewport` (a phone below 500 px wide: touch), signed in to the dashboard with
 * a password, with the Admin area open on `tab`: `{context, page, panel}`.
 */
export async function adminTab(browser, server, { email, password }, viewport, tab) {
  const context = await newContext(browser, { viewport, ...(viewport.width < 500 ? { isMobile: true, hasTouch: true } : {}) });
  const page = await openPage(context, server.dashboardUrl);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.waitForFunction(() => window.ParleyDashboard?.state?.agentsLive === true, null, { timeout: 20000 });
  await headerAction(page, 'Admin');
  const dialog = page.getByRole('dialog', { name: 'Admin' });
  await dialog.getByRole('tab', { name: tab }).click();
  return { context, page, panel: dialog.getByRole('tabpanel', { name: tab }) };
}
