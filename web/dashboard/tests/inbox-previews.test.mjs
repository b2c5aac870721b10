// The inbox rows after handoffs, with the built-in bot answering visitors on the test page: each
// row previews what was last said (the visitor's question, "Asked for a person" for the widget's
// button, a bot's Markdown as plain words), never the handoff notice every handed-over
// conversation ends with, also while it arrives live; each row shows the page its visitor is on,
// following them live to another page;
// a search says why each conversation was found (the message, the email) with the text marked.
// The open conversation shows the bot's Markdown formatted as the visitor saw it, and
// Markdown-shaped attacks in a bot's answer stay inert. Screenshots at desktop and phone sizes
// and the accessibility check.

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
  parley = await startParley({ agent: true, env: { PARLEY_BOT_WORKER: 'true' } });
  pages = await startPages(parley);
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await pages?.stop();
  await parley?.stop();
});

const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
const HANDOFF = 'Let me get a human for you';

async function shot(page, name) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, 'dashboard-' + name + '.png') });
}

async function agentDashboard(viewport = DESKTOP) {
  const context = await newContext(browser, { viewport });
  const page = await openPage(context);
  await signInWithToken(page, parley);
  return { context, page };
}

/** A visitor on the test page, named, who asks `first` and waits for the bot's answer. */
async function visitor(name, first) {
  const context = await newContext(browser);
  const page = await openPage(context, pages.page({ visitorName: name, visitorEmail: name.toLowerCase() + '@example.com' }));
  const w = widget(page);
  await w.open();
  await w.send(first);
  await page.waitForFunction(() => window.ChatbotWidget.state.messages.some((m) => m.sender_type === 'bot'), null, { timeout: 15000 });
  return { context, page, w };
}

const row = (page, name) => page.locator('.convs .conv', { hasText: name });

test('rows preview what was said, not the handoff line, with the page; a search says why it matched', async () => {
  const { context: agentContext, page } = await agentDashboard();

  // Grace asks about shipping, then for a person in words: handed over.
  const grace = await visitor('Grace', 'Do you ship abroad?');
  await grace.w.waitForMessage('we ship worldwide');
  await grace.w.send('Can I talk to someone about a bulk order?');
  // Alan is not understood, and presses "Talk to a person".
  const alan = await visitor('Alan', 'zebra quantum flux');
  await alan.page.locator('#parley-chatbot-widget .offer button').click();
  // Olga's question is answered; she stays with the bot.
  const olga = await visitor('Olga', 'When are you open?');
  await olga.w.waitForMessage('Monday to Friday');

  // Live, as the handoffs arrive: the Waiting tab's rows preview the visitors' last words.
  await page.getByRole('tab', { name: /^Waiting/ }).click();
  await row(page, 'Grace').locator('.preview', { hasText: 'Can I talk to someone about a bulk order?' }).waitFor();
  await row(page, 'Alan').locator('.preview', { hasText: 'Asked for a person' }).waitFor();
  assert.ok(!(await page.locator('.convs').textContent()).includes(HANDOFF), 'no row previews the handoff line');
  // The page each visitor is on.
  assert.match(await row(page, 'Grace').locator('.page-text').textContent(), /^127\.0\.0\.1:\d+\/chatbot-test\.html$/);
  assert.match(await row(page, 'Grace').locator('.conv-label').textContent(), /Can I talk to someone about a bulk order\?, on 127\.0\.0\.1:\d+\/chatbot-test\.html/);
  // A bot's Markdown previews as its words.
  await page.getByRole('tab', { name: /^Bot/ }).click();
  const bot = row(page, 'Olga').locator('.preview');
  await bot.waitFor();
  assert.match(await bot.textContent(), /^Bot: Our team answers chats, emails and calls: Monday to Friday: 9:00-18:00 Saturday/);

  // Grace moves to another page of the site: her row follows her there, live.
  await grace.page.goto(pages.origin + '/?from=packs');
  await widget(grace.page).ready();
  await page.getByRole('tab', { name: /^Waiting/ }).click();
  await row(page, 'Grace').locator('.page-text', { hasText: /^127\.0\.0\.1:\d+$/ }).waitFor();
  assert.match(await row(page, 'Grace').locator('.page').getAttribute('title'), /\/\?from=packs$/);

  // The same after a reload, from the listing.
  await page.reload();
  await page.waitForFunction(() => window.ParleyDashboard?.state?.agentsLive === true, null, { timeout: 20000 });
  await page.getByRole('tab', { name: /^Waiting/ }).click();
  await row(page, 'Grace').locator('.preview', { hasText: 'Can I talk to someone about a bulk order?' }).waitFor();
  assert.ok(!(await page.locator('.convs').textContent()).includes(HANDOFF));
  for (const [size, viewport] of [['desktop', DESKTOP], ['phone', PHONE]]) {
    await page.setViewportSize(viewport);
    await shot(page, 'inbox-previews-' + size);
    assert.deepEqual(await accessibilityProblems(page), [], 'the inbox at ' + size + ' size');
  }
  await page.setViewportSize(DESKTOP);

  // Search: found in a bot's answer, in the visitor's words, by email; the text marked.
  const search = page.getByRole('searchbox', { name: 'Search conversations' });
  await search.fill('WORLDWIDE');
  const found = row(page, 'Grace').locator('.why');
  await found.waitFor();
  assert.equal(await found.locator('.why-field').textContent(), 'Message:');
  assert.match(await found.locator('.why-text').textContent(), /^Bot: Yes, we ship worldwide: to the EU/);
  assert.equal(await found.locator('mark').textContent(), 'worldwide');
  assert.match(await row(page, 'Grace').locator('.conv-label').textContent(), /found in message: Bot: Yes, we ship worldwide/);
  await search.fill('bulk order');
  await page.waitForFunction(() => document.querySelector('.convs .why mark')?.textContent === 'bulk order');
  assert.match(await row(page, 'Grace').locator('.why-text').textContent(), /^…to someone about a bulk order\?$/);
  await search.fill('alan@');
  await row(page, 'Alan').locator('.why-field', { hasText: 'Email:' }).waitFor();
  assert.equal(await row(page, 'Alan').locator('.why mark').textContent(), 'alan@');
  assert.equal(await page.locator('.convs .conv').count(), 1);
  for (const [size, viewport] of [['desktop', DESKTOP], ['phone', PHONE]]) {
    await page.setViewportSize(viewport);
    await search.fill('worldwide');
    await row(page, 'Grace').locator('.why mark').waitFor();
    await shot(page, 'inbox-search-why-' + size);
    assert.deepEqual(await accessibilityProblems(page), [], 'search results at ' + size + ' size');
  }
  await page.setViewportSize(DESKTOP);
  await search.fill('');

  // The open conversation shows the bot's Markdown formatted, as the visitor saw it.
  await page.getByRole('tab', { name: /^Waiting/ }).click();
  await row(page, 'Grace').click();
  const answer = page.locator('.messages .msg.bot', { hasText: 'we ship worldwide' });
  await answer.waitFor();
  assert.deepEqual(await answer.locator('.md strong').allTextContents(), ['EU', 'the UK, Canada, Australia, Japan', '5-10 business days', '$19']);
  assert.equal(await answer.locator('.md ul > li').count(), 2);
  // People's words stay as typed.
  assert.equal(await page.locator('.messages .msg.visitor .md').count(), 0);
  await shot(page, 'bot-markdown');
  assert.deepEqual(page.errors, []);
  for (const v of [grace, alan, olga]) await v.context.close();
  await agentContext.close();
});

test("Markdown-shaped attacks in a bot's answer stay inert in the dashboard", async () => {
  const [demo] = JSON.parse(await parley.cli(['widget', 'list', '--json']));
  const answer = [
    'Links: [click](javascript:window.__xss=1) [data](data:text/html,<script>window.__xss=2</script>) [safe](https://example.com/safe)',
    '',
    '`<img src=x onerror=window.__xss=3>` **<b onmouseover="window.__xss=4">bold</b>**',
    '',
    '```',
    '<script>window.__xss=5</script>',
    '```',
  ].join('\n');
  const settings = demo.settings && typeof demo.settings === 'object' ? demo.settings : {};
  await parley.cli(['widget', 'configure', String(demo.id), '--settings', JSON.stringify({ ...settings, bot: { kind: 'knowledge', knowledge: [{ question: 'Show me the attacks', answer }] } })]);
  try {
    const v = await visitor('Mallory', 'Show me the attacks');
    await v.w.waitForMessage('Links:');
    const { context, page } = await agentDashboard();
    await page.getByRole('tab', { name: /^Bot/ }).click();
    const r = row(page, 'Mallory');
    await r.waitFor();
    assert.match(await r.locator('.preview').textContent(), /^Bot: Links: click data safe <img src=x onerror=window.__xss=3> <b onmouseover/);
    await r.click();
    const md = page.locator('.messages .msg.bot .md', { hasText: 'Links:' });
    await md.waitFor();
    assert.deepEqual(await md.locator('a').evaluateAll((as) => as.map((a) => [a.getAttribute('href'), a.rel, a.target])), [['https://example.com/safe', 'noopener noreferrer nofollow', '_blank']]);
    assert.equal(await md.locator('script, img, b, [onerror], [onmouseover]').count(), 0);
    assert.deepEqual(await md.locator('code').allTextContents(), ['<img src=x onerror=window.__xss=3>', '<script>window.__xss=5</script>']);
    await md.locator('strong').hover();
    assert.equal(await page.evaluate(() => window.__xss), undefined);
    assert.deepEqual(page.errors, []);
    await shot(page, 'xss-markdown');
    await context.close();
    await v.context.close();
  } finally {
    await parley.cli(['widget', 'configure', String(demo.id), '--settings', JSON.stringify(settings)]).catch(() => {});
  }
});
