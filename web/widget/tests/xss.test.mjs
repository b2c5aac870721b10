// Everything people type is shown as text: HTML in a message stays text (and runs nothing),
// http(s) URLs become safe links, other schemes do not. Both for the sender and for a second
// tab that receives the message over the socket. A bot's Markdown is formatted from nodes, and
// Markdown-shaped attacks in it (javascript:, data: and relative links, HTML in code, in bold,
// in lists and in code blocks, a huge hostile answer) stay inert; the visitor's own Markdown
// stays as typed.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startParley } from '../../tests/lib/server.mjs';
import { startPages } from '../../tests/lib/pages.mjs';
import { launch, newContext, openPage, widget, screenshot } from '../../tests/lib/browser.mjs';

let parley, pages, browser;

before(async () => {
  parley = await startParley();
  pages = await startPages(parley);
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await pages?.stop();
  await parley?.stop();
});

const XSS = '<img src=x onerror=window.__xss=1>';

test('HTML in a message is shown as text and never runs', async () => {
  const context = await newContext(browser);
  const sender = await openPage(context, pages.page());
  const receiver = await openPage(context, pages.page());
  const ws = widget(sender);
  const wr = widget(receiver);
  await ws.open();
  await wr.open();
  await ws.send(XSS);
  await ws.waitForMessage(XSS);
  await wr.waitForState(() => window.ChatbotWidget.state.realtimeConnected);
  await ws.send('<script>window.__xss=2</script><b>bold?</b> javascript:alert(1) see https://example.com/a?b=1&c=(2).');
  for (const [w, page] of [[ws, sender], [wr, receiver]]) {
    await w.waitForMessage(XSS);
    await w.waitForMessage('bold?');
    const bubble = w.message(XSS).locator('.bubble');
    assert.equal(await bubble.textContent(), XSS, 'the exact text');
    assert.equal(await bubble.locator('img').count(), 0, 'no element was created from it');
    const second = w.message('bold?').locator('.bubble');
    assert.equal(await second.locator('script, b').count(), 0);
    const links = second.locator('a');
    assert.equal(await links.count(), 1, 'only the https URL is a link');
    assert.equal(await links.getAttribute('href'), 'https://example.com/a?b=1&c=(2)');
    assert.equal(await links.getAttribute('rel'), 'noopener noreferrer nofollow');
    assert.equal(await links.getAttribute('target'), '_blank');
    assert.equal(await links.textContent(), 'https://example.com/a?b=1&c=(2)', 'the trailing full stop stays text');
    assert.equal(await page.evaluate(() => window.__xss), undefined);
    assert.deepEqual(page.errors, []);
  }
  await screenshot(receiver, 'xss-as-text');
  await context.close();
});

// A bot writes Markdown, and it is shown formatted: the same attacks, shaped as Markdown, in a
// bot's answers (the widget's knowledge, as a site owner or a language model could write it).
const MARKDOWN_ATTACKS = [
  'Links: [click](javascript:window.__xss=3) [data](data:text/html,<script>parent.__xss=4</script>) [rel](/api/agent/me) [safe](https://example.com/safe) <a href="javascript:window.__xss=5">raw link</a>',
  '',
  'Code: `<img src=x onerror=window.__xss=6>` and **<b onmouseover="window.__xss=7">bold</b>** *[em](JaVaScRiPt:window.__xss=8)*',
  '',
  '```html',
  '<script>window.__xss=9</script><img src=x onerror=window.__xss=10>',
  '```',
  '',
  '- <iframe src="javascript:window.__xss=11"></iframe>',
  '- [![img](javascript:window.__xss=12)](https://example.com/img)',
].join('\n');
// Built to make a naive parser take quadratic time: over 20 000 characters of it.
const HUGE = 'Huge answer: ' + '*_[a](`'.repeat(2000) + '_x* [b](https://example.com/' + '('.repeat(2000) + ' ' + '- '.repeat(3000) + 'end of the huge answer';

test('a bot\'s Markdown is formatted, and Markdown-shaped attacks stay inert', async () => {
  const bots = await startParley({ env: { PARLEY_BOT_WORKER: 'true' } });
  const botPages = await startPages(bots);
  try {
    const [demo] = JSON.parse(await bots.cli(['widget', 'list', '--json']));
    const bot = {
      kind: 'knowledge',
      knowledge: [
        { question: 'Show me the markdown attacks', answer: MARKDOWN_ATTACKS },
        { question: 'Show me the huge answer', answer: HUGE },
      ],
    };
    await bots.cli(['widget', 'configure', String(demo.id), '--settings', JSON.stringify({ ...(demo.settings || {}), bot })]);
    const context = await newContext(browser, { viewport: { width: 1280, height: 900 } });
    const page = await openPage(context, botPages.page());
    const w = widget(page);
    await w.open();
    // The visitor's own Markdown stays as typed: people's words are never formatted.
    await w.send('**not bold** and `not code` [x](javascript:alert(1))');
    await w.waitForMessage('not bold');
    const own = w.message('not bold').locator('.bubble');
    assert.equal(await own.textContent(), '**not bold** and `not code` [x](javascript:alert(1))');
    assert.equal(await own.locator('strong, code, a').count(), 0);

    await w.send('Show me the markdown attacks');
    await w.waitForMessage('Links:');
    const md = w.message('Links:').locator('.bubble .md');
    // Only the absolute https addresses are links, and they leave the page safely.
    const links = md.locator('a');
    assert.deepEqual(await links.evaluateAll((as) => as.map((a) => a.getAttribute('href'))), ['https://example.com/safe', 'https://example.com/img']);
    for (const rel of await links.evaluateAll((as) => as.map((a) => a.rel + ' ' + a.target))) assert.equal(rel, 'noopener noreferrer nofollow _blank');
    // The refused links keep their words, as text.
    assert.match(await md.locator('p').first().textContent(), /^Links: click data rel safe <a href="javascript:window.__xss=5">raw link<\/a>$/);
    // HTML anywhere (in code, in bold, in a list, in a code block) is text: no element from it.
    assert.equal(await md.locator('script, img, iframe, b, [onerror], [onmouseover]').count(), 0);
    assert.deepEqual(await md.locator('code').allTextContents(), ['<img src=x onerror=window.__xss=6>', '<script>window.__xss=9</script><img src=x onerror=window.__xss=10>']);
    assert.equal(await md.locator('strong').textContent(), '<b onmouseover="window.__xss=7">bold</b>');
    assert.equal(await md.locator('em').textContent(), 'em');
    assert.deepEqual(await md.locator('ul > li').allTextContents(), ['<iframe src="javascript:window.__xss=11"></iframe>', '[!img](https://example.com/img)']);
    for (const el of await md.locator('a').all()) await el.hover();
    await md.locator('strong').hover();

    // A huge hostile answer is shown, promptly.
    const asked = Date.now();
    await w.send('Show me the huge answer');
    await w.waitForMessage('end of the huge answer');
    assert.ok(Date.now() - asked < 5000, 'shown in ' + (Date.now() - asked) + ' ms');
    assert.equal(await page.evaluate(() => window.__xss), undefined);
    assert.deepEqual(page.errors, []);
    await w.message('Links:').scrollIntoViewIfNeeded();
    await screenshot(page, 'xss-markdown');
    await context.close();
  } finally {
    await botPages.stop();
    await bots.stop();
  }
});
