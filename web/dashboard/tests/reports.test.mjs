// The Reports view against the real server, in a browser set to Paris time: conversations with
// known times are written into the database (five on the 1st and 2nd of May 2024 in Paris, one
// just after midnight there), and the page shows their known figures: the counts and shares,
// the median first response and resolution times, the satisfaction average, the conversations
// per day and the busiest hours (charts drawn, and the same numbers in tables), per widget and per
// agent. An admin narrows to a widget and downloads the same report as CSV; an agent signed in
// with a token sees only their own figures and downloads theirs. The view is used with the
// keyboard alone, photographed at desktop and phone size, and passes the accessibility check.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startParley } from '../../tests/lib/server.mjs';
import { SCREENSHOTS, launch, newContext, openPage } from '../../tests/lib/browser.mjs';
import { accessibilityProblems } from '../../tests/lib/a11y.mjs';

const ADMIN = { email: 'olive@example.com', name: 'Olive Admin', password: 'correct horse battery' };
const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 390, height: 844 };
const ZONE = 'Europe/Paris';

let parley, browser;
let shop, blog, ada;

/**
 * Writes rows into the server's SQLite database with Python's standard library (the server
 * keeps running: WAL lets another process write). `rows` is {table: [{column: value}]}.
 */
async function insert(rows) {
  const script = [
    'import json, sqlite3, sys',
    'db = sqlite3.connect(sys.argv[1], timeout=10)',
    'ids = {}',
    'for table, items in json.loads(sys.argv[2]):',
    '    for item in items:',
    '        ref = item.pop("ref", None)',
    '        item = {k: (ids[v[1:]] if isinstance(v, str) and v.startswith("@") else v) for k, v in item.items()}',
    '        cur = db.execute("INSERT INTO %s (%s) VALUES (%s)" % (table, ", ".join(item), ", ".join("?" * len(item))), list(item.values()))',
    '        if ref: ids[ref] = cur.lastrowid',
    'db.commit()',
    'print(json.dumps(ids))',
  ].join('\n');
  try {
    const { stdout } = await promisify(execFile)('python3', ['-c', script, join(parley.dataDir, 'parley.db'), JSON.stringify(rows)]);
    return JSON.parse(stdout);
  } catch (error) {
    throw new Error('could not write the seeded rows: ' + (error.stderr || error.message));
  }
}

/** A time of May 2024 in UTC, "DD HH:MM:SS", as the store writes them. */
const at = (when) => '2024-05-' + when.replace(' ', 'T') + '+00:00';

/**
 * Six conversations (UTC; Paris is two hours ahead):
 *
 * | conv | widget | created  | what happened                                         | rating |
 * |------|--------|----------|-------------------------------------------------------|--------|
 * | c1   | Shop   | 01 07:00 | the bot answered; closed 07:10 (600 s)                | 5      |
 * | c2   | Shop   | 01 08:00 | handoff 08:01, Ada 08:02:30 (90 s), closed 08:30      | 4      |
 * | c3   | Blog   | 02 12:00 | handoff at once, Ada 12:02:30 (150 s), open           |        |
 * | c4   | Blog   | 02 12:30 | the bot answered; idle since                          |        |
 * | c5   | Shop   | 02 21:30 | handoff 21:31, nobody replied yet                     |        |
 * | c6   | Shop   | 02 22:30 | 00:30 on the 3rd in Paris: outside the 1st-2nd there  | 1      |
 */
async function seed() {
  const conversation = (ref, widget, status, agent, created, updated, handedOff, closed) => ({
    ref,
    widget_id: widget,
    visitor_name: 'Visitor ' + ref,
    visitor_token_hash: 'seeded-' + ref,
    status,
    assigned_agent_id: agent,
    created_at: at(created),
    updated_at: at(updated),
    handed_off_at: handedOff ? at(handedOff) : null,
    closed_at: closed ? at(closed) : null,
  });
  const message = (ref, sender, when) => ({ conversation_id: '@' + ref, sender_type: sender, sender_name: sender === 'agent' ? 'Ada' : null, message: sender + ' says hello', created_at: at(when) });
  const rating = (ref, score) => ({ conversation_id: '@' + ref, score, created_at: at('02 23:00:00') });
  await insert([
    [
      'conversations',
      [
        conversation('c1', shop, 'closed', null, '01 07:00:00', '01 07:10:00', null, '01 07:10:00'),
        conversation('c2', shop, 'closed', ada.id, '01 08:00:00', '01 08:30:00', '01 08:01:00', '01 08:30:00'),
        conversation('c3', blog, 'human', ada.id, '02 12:00:00', '02 12:02:30', '02 12:00:00', null),
        conversation('c4', blog, 'bot', null, '02 12:30:00', '02 12:30:05', null, null),
        conversation('c5', shop, 'human', null, '02 21:30:00', '02 21:31:00', '02 21:31:00', null),
        conversation('c6', shop, 'closed', null, '02 22:30:00', '02 22:40:00', null, '02 22:40:00'),
      ],
    ],
    [
      'messages',
      [
        message('c1', 'visitor', '01 07:00:02'),
        message('c1', 'bot', '01 07:00:04'),
        message('c2', 'visitor', '01 08:00:02'),
        message('c2', 'system', '01 08:01:00'),
        message('c2', 'agent', '01 08:02:30'),
        message('c3', 'visitor', '02 12:00:00'),
        message('c3', 'agent', '02 12:02:30'),
        message('c4', 'visitor', '02 12:30:01'),
        message('c4', 'bot', '02 12:30:05'),
        message('c5', 'visitor', '02 21:30:30'),
        message('c5', 'system', '02 21:31:00'),
        message('c6', 'visitor', '02 22:30:01'),
        message('c6', 'bot', '02 22:30:03'),
      ],
    ],
    ['ratings', [rating('c1', 5), rating('c2', 4), rating('c6', 1)]],
  ]);
}

before(async () => {
  parley = await startParley();
  browser = await launch();
  await parley.cli(['admin', 'create', '--email', ADMIN.email, '--name', ADMIN.name], { input: ADMIN.password + '\n' });
  shop = JSON.parse(await parley.cli(['widget', 'create', '--name', 'Shop', '--json'])).id;
  blog = JSON.parse(await parley.cli(['widget', 'create', '--name', 'Blog', '--json'])).id;
  const agent = JSON.parse(await parley.cli(['agent', 'create', '--name', 'Ada', '--email', 'ada@example.com', '--json']));
  ada = { id: agent.id, token: agent.token };
  await seed();
});

after(async () => {
  await browser?.close();
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

async function signInWithToken(page, token) {
  await page.goto(parley.dashboardUrl);
  await page.getByRole('button', { name: 'Use an API token instead' }).click();
  await page.getByLabel('Agent token').fill(token);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await live(page);
}

/** The figure cards as {label: "value detail"}. */
async function cards(dialog) {
  return dialog.locator('.rep-card').evaluateAll((els) => Object.fromEntries(els.map((el) => [el.querySelector('dt').textContent, el.querySelector('dd').textContent])));
}

/** A table's body rows as arrays of cell texts. */
async function rows(table) {
  return table.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent)));
}

/** Shows the report for the 1st and 2nd of May with the keyboard (dates typed, Tab, Enter). */
async function showMay(page, dialog, { agentSelect }) {
  await dialog.getByText('Report for ').first().waitFor();
  const from = dialog.getByLabel('From', { exact: true });
  assert.equal(await from.evaluate((el) => el === document.activeElement), true, 'the view starts at "From"');
  await from.fill('2024-05-01');
  await dialog.getByLabel('To', { exact: true }).fill('2024-05-02');
  // From the last choice, Tab reaches "Show" and Enter shows the report.
  await dialog.getByLabel(agentSelect ? 'Agent' : 'Widget', { exact: true }).focus();
  await page.keyboard.press('Tab');
  assert.equal(await dialog.getByRole('button', { name: 'Show' }).evaluate((el) => el === document.activeElement), true);
  await page.keyboard.press('Enter');
  await dialog.getByRole('status').filter({ hasText: 'Report for 1 May 2024 to 2 May 2024 shown.' }).waitFor();
}

test('an admin sees the seeded figures in Paris time, as charts, tables and CSV, with the keyboard alone', async () => {
  const context = await newContext(browser, { viewport: DESKTOP, timezoneId: ZONE, locale: 'en-GB', acceptDownloads: true });
  const page = await openPage(context);
  await signIn(page, ADMIN);

  // Opened from the keyboard; the first report is the last 30 days (nothing seeded is that recent).
  await page.getByRole('button', { name: 'Reports', exact: true }).focus();
  await page.keyboard.press('Enter');
  const dialog = page.getByRole('dialog', { name: 'Reports' });
  await dialog.waitFor();
  await showMay(page, dialog, { agentSelect: true });

  assert.deepEqual(await cards(dialog), {
    Conversations: '5started in these days',
    'Resolved by the bot': '40%2 of 5, without an agent',
    'Handoff rate': '60%3 of 5 went to an agent',
    'Median first response': '2 minover 2 first replies',
    'Median resolution time': '20 minover 2 closed conversations',
    'Satisfaction (CSAT)': '4.5 / 5average of 2 ratings',
  });
  await dialog.getByText('Every conversation started 1 May 2024 to 2 May 2024, times in Europe/Paris.').waitFor();

  // Both charts are drawn; their numbers are in tables, opened from the keyboard.
  assert.equal(await dialog.locator('.rep-chart canvas').count(), 2);
  assert.equal(await dialog.locator('.rep-chart[aria-hidden=true]').count(), 2, 'the pictures are hidden from screen readers');
  assert.deepEqual(await dialog.locator('details.rep-details').evaluateAll((els) => els.map((el) => el.open)), [false, false], 'the tables open on request');
  const perDay = dialog.getByRole('region', { name: 'Conversations per day as a table' });
  await dialog.getByText('Show conversations per day as a table').focus();
  await page.keyboard.press('Enter');
  assert.deepEqual(await rows(perDay), [
    ['1 May 2024', '2', '1'],
    ['2 May 2024', '3', '2'],
  ]);
  await dialog.getByText('Show busiest hours as a table').focus();
  await page.keyboard.press('Enter');
  const hours = (await rows(dialog.getByRole('region', { name: 'Busiest hours as a table' }))).filter((r) => r[1] !== '0');
  assert.deepEqual(hours, [
    ['09:00', '1', '0'],
    ['10:00', '1', '1'],
    ['14:00', '2', '1'],
    ['23:00', '1', '1'],
  ]);

  // Per widget and per agent.
  assert.deepEqual(await rows(dialog.getByRole('region', { name: 'Figures per widget' })), [
    ['Shop', '3', '33.3%', '66.7%', '1 min 30 s', '20 min', '4.5 / 5'],
    ['Blog', '2', '50%', '50%', '2 min 30 s', 'None yet', 'No ratings'],
  ]);
  assert.deepEqual(await rows(dialog.getByRole('region', { name: 'Figures per agent' })), [['Ada', '2', '0%', '100%', '2 min', '30 min', '4 / 5']]);

  await shot(page, 'reports-desktop');
  assert.deepEqual(await accessibilityProblems(page), []);
  assert.deepEqual(page.errors, []);

  // One widget: the Blog's figures.
  await dialog.getByLabel('Widget', { exact: true }).selectOption({ label: 'Blog' });
  await dialog.getByRole('button', { name: 'Show' }).click();
  await dialog.locator('.rep-card', { hasText: 'Conversations' }).filter({ hasText: '2started' }).waitFor();
  assert.equal((await cards(dialog))['Median first response'], '2 min 30 sover 1 first reply');

  // The same report as CSV (signed in with a password: the session's cookie fetches it).
  await dialog.getByLabel('Widget', { exact: true }).selectOption({ label: 'All widgets' });
  await dialog.getByRole('button', { name: 'Show' }).click();
  await dialog.locator('.rep-card', { hasText: 'Conversations' }).filter({ hasText: '5started' }).waitFor();
  const [download] = await Promise.all([page.waitForEvent('download'), dialog.getByRole('button', { name: 'Download CSV' }).click()]);
  assert.equal(download.suggestedFilename(), 'parley-report-2024-05-01-2024-05-02.csv');
  const csv = readFileSync(await download.path(), 'utf8').split('\r\n');
  assert.equal(csv[1], 'all,,All,5,3,0.6,2,0.4,2,2,120.0,1200.0,2,4.5');
  assert.ok(csv.includes('hour,14,14:00,2,1,,,,,,,,,'), csv.join('\n'));
  assert.ok(csv.includes('day,,2024-05-02,3,2,,,,,,,,,'));

  // Escape closes the view; the focus goes back to its button.
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'hidden' });
  assert.equal(await page.getByRole('button', { name: 'Reports', exact: true }).evaluate((el) => el === document.activeElement), true);
  await context.close();
});

test('an agent signed in with a token sees their own figures, on a phone too', async () => {
  const context = await newContext(browser, { viewport: PHONE, timezoneId: ZONE, locale: 'en-GB', acceptDownloads: true, isMobile: true, hasTouch: true });
  const page = await openPage(context);
  await signInWithToken(page, ada.token);
  // On a phone the header's actions are in its Menu.
  await page.getByRole('button', { name: 'Menu' }).click();
  await page.getByRole('button', { name: 'Reports', exact: true }).click();
  const dialog = page.getByRole('dialog', { name: 'Reports' });
  await showMay(page, dialog, { agentSelect: false });

  assert.equal(await dialog.getByLabel('Agent', { exact: true }).count(), 0, 'agents cannot pick another agent');
  assert.deepEqual(await cards(dialog), {
    Conversations: '2started in these days',
    'Resolved by the bot': '0%0 of 2, without an agent',
    'Handoff rate': '100%2 of 2 went to an agent',
    'Median first response': '2 minover 2 first replies',
    'Median resolution time': '30 minover 1 closed conversation',
    'Satisfaction (CSAT)': '4 / 5average of 1 rating',
  });
  await dialog.getByText('Your conversations started 1 May 2024 to 2 May 2024, times in Europe/Paris.').waitFor();
  assert.equal(await dialog.getByRole('heading', { name: 'Per agent' }).count(), 0);
  assert.deepEqual(
    (await rows(dialog.getByRole('region', { name: 'Figures per widget' }))).map((r) => r.slice(0, 2)),
    [
      ['Shop', '1'],
      ['Blog', '1'],
    ],
  );
  assert.equal(await dialog.locator('.rep-chart canvas').count(), 2);
  await dialog.locator('.rep-chart canvas').first().scrollIntoViewIfNeeded();
  await shot(page, 'reports-phone');
  assert.deepEqual(await accessibilityProblems(page), []);

  // The token fetches the CSV: Ada's conversations only.
  const [download] = await Promise.all([page.waitForEvent('download'), dialog.getByRole('button', { name: 'Download CSV' }).click()]);
  const csv = readFileSync(await download.path(), 'utf8').split('\r\n');
  assert.equal(csv[1], 'all,,All,2,2,1.0,0,0.0,1,2,120.0,1800.0,1,4.0');
  assert.equal(csv.filter((l) => l.startsWith('agent,')).length, 1);
  assert.deepEqual(page.errors, []);
  await context.close();
});
