// Business hours in the widget: the header says the mode (live, bot, away) and, away, when the
// team is back, in the visitor's language and time zone; agents going offline reach an open
// widget at once, and the hours turning (an opening a minute ahead) too. Away, asking for a
// human brings an inline email form (focused, labelled, its problem said beside the field, all
// from the keyboard); the email left marks the conversation waiting, and the agent's reply
// reaches a real SMTP server at once (PARLEY_EMAIL_AFTER_SECS is an hour here). Screenshots at
// desktop and phone sizes and the accessibility check.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { startParley, REPO_ROOT } from '../../tests/lib/server.mjs';
import { startPages } from '../../tests/lib/pages.mjs';
import { holdNextRequest, launch, newContext, openPage, widget, screenshot } from '../../tests/lib/browser.mjs';
import { accessibilityProblems } from '../../tests/lib/a11y.mjs';

const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const SIZES = [
  ['desktop', { width: 1280, height: 800 }],
  ['phone', { width: 390, height: 844 }],
];
/** The visitor gives no email on the page (the test page's snippet has one). */
const NO_EMAIL = "ChatbotWidget.setUser({ email: '' });";

let sink, parley, pages, browser, demo, original;

/** The SMTP server (tests/mail): its port, and the mails it accepted. */
async function startSink() {
  const python = execFileSync('bash', [join(REPO_ROOT, 'tests/mail/venv.sh')], { encoding: 'utf8' }).trim();
  const dir = mkdtempSync(join(tmpdir(), 'parley-mail-'));
  const proc = spawn(python, [join(REPO_ROOT, 'tests/mail/smtp_sink.py'), dir], { stdio: ['pipe', 'pipe', 'inherit'] });
  const line = await new Promise((resolve, reject) => {
    createInterface({ input: proc.stdout }).once('line', resolve);
    proc.once('exit', () => reject(new Error('the SMTP server stopped')));
  });
  return {
    port: Number(/listening on (\d+)/.exec(line)[1]),
    mails: () => readdirSync(dir).filter((f) => f.endsWith('.json')).sort().map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8'))),
    async waitFor(n) {
      for (let i = 0; i < 300; i++) {
        const mails = this.mails();
        if (mails.length >= n) return mails;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error('expected ' + n + ' mails, got ' + this.mails().length);
    },
    stop() {
      proc.kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Closed now; open 10:00-11:00 UTC on the date three days ahead. */
function closedForThreeDays() {
  const at = new Date(Date.now() + 3 * 86400000);
  at.setUTCHours(10, 0, 0, 0);
  return { hours: { time_zone: 'UTC', weekly: { [DAYS[at.getUTCDay()]]: ['10:00-11:00'] } }, opensAt: at };
}

/**
 * Closed now; open for an hour (or to midnight) from a whole minute (UTC) 30 to 90 s away, so the
 * widget is surely still closed when the page has loaded, whatever second the test starts at.
 */
function opensInAMinute() {
  const at = new Date(Date.now() + 90000);
  at.setUTCSeconds(0, 0);
  const hhmm = (d) => String(d.getUTCHours()).padStart(2, '0') + ':' + String(d.getUTCMinutes()).padStart(2, '0');
  const end = new Date(at.getTime() + 3600000);
  const until = end.getUTCDate() === at.getUTCDate() ? hhmm(end) : '24:00';
  return { time_zone: 'UTC', weekly: { [DAYS[at.getUTCDay()]]: [hhmm(at) + '-' + until] } };
}

async function configure(settings) {
  await parley.cli(['widget', 'configure', String(demo.id), '--settings', JSON.stringify({ ...original, ...settings })]);
}

async function availability(value) {
  const res = await parley.agentApi('PUT', '/api/agent/availability', { body: { availability: value } });
  assert.equal(res.status, 200, res.text);
}

const status = (page) => page.locator('#parley-chatbot-widget .head .status');
const host = (page) => page.locator('#parley-chatbot-widget');
const awayForm = (page) => page.locator('#parley-chatbot-widget .away');

async function waitForStatus(page, text, timeout = 15000) {
  await status(page).filter({ hasText: text }).waitFor({ timeout });
}

/** What the header should say for `at`, as the visitor's browser (time zone `timeZone`) says it. */
function backText(at, timeZone, locale, template) {
  const day = new Intl.DateTimeFormat(locale, { weekday: 'long', timeZone }).format(at);
  const time = new Intl.DateTimeFormat(locale, { hour: 'numeric', minute: '2-digit', timeZone }).format(at);
  return template.replace('{day}', day).replace('{time}', time);
}

before(async () => {
  sink = await startSink();
  parley = await startParley({
    agent: true,
    env: {
      PARLEY_SMTP_URL: `smtp://127.0.0.1:${sink.port}?tls=none`,
      PARLEY_MAIL_FROM: 'Parley Support <support@parley.test>',
      PARLEY_EMAIL_AFTER_SECS: '3600',
      PARLEY_BOT_WORKER: 'true',
    },
  });
  pages = await startPages(parley);
  browser = await launch();
  [demo] = JSON.parse(await parley.cli(['widget', 'list', '--json']));
  original = demo.settings && typeof demo.settings === 'object' ? demo.settings : {};
});

after(async () => {
  if (demo) await parley.cli(['widget', 'configure', String(demo.id), '--settings', JSON.stringify(original)]).catch(() => {});
  await browser?.close();
  await pages?.stop();
  await parley?.stop();
  sink?.stop();
});

test('the header says live, bot or away, and when the team is back in the visitor’s time zone', async () => {
  await configure({});
  await availability('offline');
  const context = await newContext(browser, { viewport: SIZES[0][1], timezoneId: 'Asia/Tokyo' });
  const page = await openPage(context, pages.page());
  const w = widget(page);
  await w.open();
  await waitForStatus(page, 'Our assistant answers right away');
  assert.equal(await host(page).getAttribute('data-mode'), 'bot');

  // An agent comes online: reopening the chat (no conversation yet) reads the mode again.
  await availability('online');
  await w.launcher.click();
  await w.launcher.click();
  await waitForStatus(page, 'We are online');
  assert.equal(await host(page).getAttribute('data-mode'), 'live');

  // With a conversation, the agent going offline reaches the open widget on its channel.
  await w.send('Hello there');
  await w.waitForMessage('Hello there');
  await w.waitForState(() => window.ChatbotWidget.state.realtimeConnected === true);
  await availability('offline');
  await waitForStatus(page, 'Our assistant answers right away');
  await context.close();

  // Closed by the hours: away, whoever is online, and back at the next opening, said in the
  // visitor's time zone and language.
  await availability('online');
  const { hours, opensAt } = closedForThreeDays();
  await configure({ hours });
  for (const [size, viewport] of SIZES) {
    for (const [locale, timeZone, template] of [
      ['en', 'Asia/Tokyo', 'We are away · back {day} at {time}'],
      ['fr', 'America/New_York', 'Nous sommes absents · de retour {day} à {time}'],
    ]) {
      const ctx = await newContext(browser, { viewport, timezoneId: timeZone });
      const p = await openPage(ctx, pages.page({ locale }));
      await widget(p).open();
      await waitForStatus(p, backText(opensAt, timeZone, locale, template));
      assert.equal(await host(p).getAttribute('data-mode'), 'away');
      if (locale === 'en') {
        await screenshot(p, 'hours-away-header-' + size);
        assert.deepEqual(await accessibilityProblems(p), [], 'the away header at ' + size + ' size');
      }
      await ctx.close();
    }
  }
});

test('a read of the conversation answered late does not undo a newer "agents online" event', async () => {
  await configure({});
  await availability('online');
  const context = await newContext(browser, { viewport: SIZES[0][1] });
  const page = await openPage(context, pages.page());
  const w = widget(page);
  await w.open();
  await waitForStatus(page, 'We are online');
  await w.send('Hello there');
  await w.waitForMessage('Hello there');
  await w.waitForState(() => window.ChatbotWidget.state.realtimeConnected === true);

  // The next read of the conversation is made while the agent is online and reaches the widget
  // only after the agent went offline and the event saying so did.
  const isRead = (url) => /\/api\/chatbot\/conversation\/[^/]+$/.test(new URL(url).pathname) && new URL(url).searchParams.has('after');
  const { answer: read, release } = await holdNextRequest(page, isRead);
  await page.evaluate(() => document.dispatchEvent(new Event('visibilitychange')));
  assert.equal((await read).agents_online, true, 'the held read saw the agent online');
  await availability('offline');
  await waitForStatus(page, 'Our assistant answers right away');

  // The late answer is not taken over the event: the widget reads once more, and stays "bot".
  const reread = page.waitForRequest((req) => isRead(req.url()));
  release();
  assert.equal((await (await (await reread).response()).json()).agents_online, false);
  await waitForStatus(page, 'Our assistant answers right away');
  assert.equal(await host(page).getAttribute('data-mode'), 'bot');
  await context.close();
});

test('an open widget turns live when the hours open', async () => {
  await availability('online');
  await configure({ hours: opensInAMinute() });
  const context = await newContext(browser, { viewport: SIZES[0][1] });
  const page = await openPage(context, pages.page());
  await widget(page).open();
  // "back at 10:31", or "back Sunday at 00:00" when the opening is past midnight.
  await waitForStatus(page, 'We are away · back');
  // The timer to the opening reads the configuration again (the agent kept online meanwhile).
  const keepOnline = setInterval(() => availability('online').catch(() => {}), 20000);
  try {
    await waitForStatus(page, 'We are online', 120000);
  } finally {
    clearInterval(keepOnline);
  }
  assert.equal(await host(page).getAttribute('data-mode'), 'live');
  await context.close();
});

test('away, asking for a human collects an email from the keyboard and the reply is emailed at once', async () => {
  await availability('online');
  const { hours } = closedForThreeDays();
  await configure({ hours });
  for (const [size, viewport] of SIZES) {
    const context = await newContext(browser, { viewport });
    const page = await openPage(context, pages.page(null, { calls: NO_EMAIL }));
    const w = widget(page);
    await w.ready();
    // From the keyboard: focus the launcher, open, type, Enter.
    await w.launcher.focus();
    await page.keyboard.press('Enter');
    await w.panel.waitFor({ state: 'visible' });
    await page.keyboard.type('I want to talk to a human please');
    await page.keyboard.press('Enter');
    await w.waitForMessage('Our team is away right now. Leave your email and we will reply to you there.', 30000);
    await awayForm(page).locator('input[type=email]').waitFor();
    // The form took the focus; a wrong address is said beside the field.
    const focused = () =>
      page.evaluate(() => {
        const active = document.querySelector('#parley-chatbot-widget').shadowRoot.activeElement;
        return active?.id || active?.tagName.toLowerCase();
      });
    await page.waitForFunction(() => document.querySelector('#parley-chatbot-widget').shadowRoot.activeElement?.id === 'pw-away-email');
    await page.keyboard.type('vera at example');
    await page.keyboard.press('Enter');
    const input = awayForm(page).locator('input[type=email]');
    await awayForm(page).locator('.away-err', { hasText: 'Enter an email address.' }).waitFor();
    assert.equal(await input.getAttribute('aria-invalid'), 'true');
    assert.equal(await input.getAttribute('aria-describedby'), 'pw-away-err');
    assert.equal(await focused(), 'pw-away-email');
    await screenshot(page, 'hours-away-email-' + size);
    assert.deepEqual(await accessibilityProblems(page), [], 'the email form at ' + size + ' size');

    const email = 'vera+' + size + '@example.com';
    await input.fill('');
    await page.keyboard.type(email);
    await page.keyboard.press('Enter');
    await awayForm(page).getByText('Thanks! We will reply to ' + email + '.').waitFor();
    await waitForStatus(page, 'We are away · we will reply by email');
    assert.equal(await focused(), 'textarea', 'the focus went back to the composer');
    const { conversationId } = await w.state();
    const listed = await parley.agentApi('GET', '/api/agent/conversations?waiting_for_email=true');
    assert.ok(listed.json.conversations.some((c) => c.id === conversationId && c.visitor_email === email), listed.text);
    await screenshot(page, 'hours-away-email-left-' + size);
    assert.deepEqual(await accessibilityProblems(page), [], 'the thanks at ' + size + ' size');

    // The agent answers while the visitor is still here: the mail goes at once all the same.
    const before = sink.mails().length;
    const reply = await parley.agentApi('POST', `/api/agent/conversations/${conversationId}/messages`, { body: { message: 'Hi! Your order ships today.' } });
    assert.equal(reply.status, 201, reply.text);
    const mails = await sink.waitFor(before + 1);
    const mail = mails.find((m) => m.rcpt_tos.includes(email));
    assert.ok(mail, JSON.stringify(mails.map((m) => m.rcpt_tos)));
    assert.match(mail.text, /Hi! Your order ships today\./);
    await w.waitForMessage('Hi! Your order ships today.');
    await context.close();
  }
});
