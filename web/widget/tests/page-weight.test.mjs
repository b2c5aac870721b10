// What the widget costs a page that embeds it. A plain page is loaded without the widget, with it
// (the loader only: its script and the configuration it reads), and with a conversation already
// in this browser (the full widget at once), each in a fresh browser cache; the bytes the page
// transferred (every response's encodedDataLength, from the DevTools protocol's Network events)
// and its main-thread time (Performance.getMetrics: TaskDuration, ScriptDuration) are printed,
// the median of three loads each. Timings are printed, never asserted (this machine is shared).
// Asserted: the loader is at most 6 KB gzipped (and is served compressed); the full widget is not
// fetched before the visitor opens the chat, is fetched when they do (cached for a year, under its
// hashed name), and at load when a conversation exists or when the proactive greeting is due;
// the launcher the loader drew is where the full widget's is; calls made before the full widget
// arrived are replayed in order.
//
//   web/tests/run.sh widget/tests/page-weight.test.mjs

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { gzipSync } from 'node:zlib';
import { startParley } from '../../tests/lib/server.mjs';
import { launch, newContext, session, screenshot } from '../../tests/lib/browser.mjs';
import { accessibilityProblems, axeViolations } from '../../tests/lib/a11y.mjs';
import { LOCALES } from '../src/i18n.js';

const LIMIT = 6 * 1024;
const APP = /\/chatbot-widget\/app\.[0-9a-f]+\.js$/;
let parley, browser, site;

/**
 * A plain article page on its own origin, as a site would serve it; `/widget.html` adds the
 * widget snippet (the script from Parley's server), `?calls=` runs code after the pre-load stub.
 */
function startSite() {
  const body = (extra) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Trail notes</title>
<style>body{margin:0 auto;max-width:720px;padding:24px;font:17px/1.6 Georgia,serif;color:#222}</style>
</head><body><main><h1>Trail notes</h1>
${'<p>Walk the ridge early, before the wind picks up; carry water for the whole day and a layer for the top.</p>\n'.repeat(20)}
</main>${extra}</body></html>`;
  const server = createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    let extra = '';
    if (url.pathname === '/widget.html') {
      extra = `
<script>
  window.ChatbotConfig = { apiToken: ${JSON.stringify(parley.token)}, widgetUrl: ${JSON.stringify(parley.baseUrl)} };
  window.ChatbotWidget = window.ChatbotWidget || (function () { var w = { q: [] };
    ['open', 'close', 'toggle', 'setUser', 'on'].forEach(function (m) {
      w[m] = function () { w.q.push([m, [].slice.call(arguments)]); }; }); return w; })();
  ${url.searchParams.get('calls') || ''}
</script>
<script src="${parley.baseUrl}/chatbot-widget.js" async></script>`;
    } else if (url.pathname !== '/plain.html') {
      res.writeHead(404);
      return res.end();
    }
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
    res.end(body(extra));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ origin: 'http://127.0.0.1:' + server.address().port, stop: () => new Promise((r) => server.close(r)) })));
}

before(async () => {
  parley = await startParley();
  site = await startSite();
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await site?.stop();
  await parley?.stop();
});

/**
 * Opens `url` in `context` with the DevTools protocol recording every response: `requests` (url,
 * status, headers, header bytes, total bytes), `inFlight()`, `bytes()`, `metrics()`.
 */
async function recordedPage(context) {
  const page = await context.newPage();
  page.errors = [];
  page.on('pageerror', (error) => page.errors.push(String(error)));
  const cdp = await context.newCDPSession(page);
  const byId = new Map();
  let inFlight = 0;
  cdp.on('Network.requestWillBeSent', (e) => {
    if (!byId.has(e.requestId)) inFlight++;
    byId.set(e.requestId, { url: e.request.url, done: false, bytes: 0, headerBytes: 0 });
  });
  cdp.on('Network.responseReceived', (e) => {
    const r = byId.get(e.requestId);
    if (r) Object.assign(r, { status: e.response.status, headers: e.response.headers, headerBytes: e.response.encodedDataLength, cached: e.response.fromDiskCache });
  });
  const finish = (e, failed) => {
    const r = byId.get(e.requestId);
    if (!r || r.done) return;
    r.done = true;
    r.failed = failed;
    r.bytes = e.encodedDataLength || 0;
    inFlight--;
  };
  cdp.on('Network.loadingFinished', (e) => finish(e, false));
  cdp.on('Network.loadingFailed', (e) => finish(e, true));
  await cdp.send('Network.enable');
  await cdp.send('Performance.enable');
  return {
    page,
    requests: () => [...byId.values()],
    inFlight: () => inFlight,
    bytes: () => [...byId.values()].reduce((sum, r) => sum + r.bytes, 0),
    async metrics() {
      const { metrics } = await cdp.send('Performance.getMetrics');
      const m = Object.fromEntries(metrics.map((x) => [x.name, x.value]));
      return { taskMs: m.TaskDuration * 1000, scriptMs: m.ScriptDuration * 1000, layoutMs: (m.LayoutDuration + m.RecalcStyleDuration) * 1000 };
    },
    /** Resolves once `ready` holds in the page and no request is in flight (polled, no sleeps). */
    async settle(ready = () => true) {
      await page.waitForFunction(ready, null, { timeout: 20000, polling: 50 });
      for (let i = 0; inFlight > 0; i++) {
        if (i >= 400) throw new Error('requests never settled: ' + JSON.stringify([...byId.values()].filter((r) => !r.done)));
        await new Promise((r) => setTimeout(r, 25));
      }
    },
  };
}

const fetchedApp = (rec) => rec.requests().some((r) => APP.test(r.url));
const loaderDrawn = () => !!document.querySelector('#parley-chatbot-widget')?.shadowRoot?.querySelector('.launcher');
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const kb = (n) => (n / 1024).toFixed(1) + ' KB';

/** A conversation kept in `context`'s storage: the visitor wrote once (the full widget, opened). */
async function withConversation(context) {
  const rec = await recordedPage(context);
  await rec.page.goto(site.origin + '/widget.html');
  await rec.page.waitForFunction(loaderDrawn);
  await rec.page.locator('#parley-chatbot-widget .launcher').click();
  await rec.page.locator('#parley-chatbot-widget .composer textarea').fill('Hello from an earlier page');
  await rec.page.keyboard.press('Enter');
  await rec.page.waitForFunction(() => window.ChatbotWidget.state.messages.some((m) => m.id != null && !m._pending));
  assert.ok((await session(rec.page))?.value?.conversationId, 'a conversation in localStorage');
  await rec.page.close();
}

test('page weight on load: a plain page, with the loader, with the full widget (printed)', async () => {
  const cases = [
    ['plain page, no widget', '/plain.html', false, () => document.readyState === 'complete'],
    ['+ Parley loader (nothing opened)', '/widget.html', false, loaderDrawn],
    ['+ Parley, a conversation in this browser', '/widget.html', true, () => window.ChatbotWidget?.loaded === true && window.ChatbotWidget.state.realtimeConnected],
  ];
  const rows = [];
  for (const [name, path, conversation, ready] of cases) {
    const runs = [];
    for (let i = 0; i < 3; i++) {
      const context = await newContext(browser);
      if (conversation) await withConversation(context);
      // A fresh cache, the storage kept: what a first page view of the day costs.
      const rec = await recordedPage(context);
      const cdp = await context.newCDPSession(rec.page);
      await cdp.send('Network.clearBrowserCache');
      await rec.page.goto(site.origin + path);
      await rec.settle(ready);
      runs.push({ bytes: rec.bytes(), requests: rec.requests().length, ...(await rec.metrics()), app: fetchedApp(rec), list: rec.requests() });
      assert.deepEqual(rec.page.errors, []);
      await context.close();
    }
    rows.push({ name, runs });
    const app = runs.every((r) => r.app);
    assert.equal(app, conversation, `${name}: the full widget is fetched at load ${conversation ? 'when a conversation exists' : 'never'}`);
    assert.ok(runs.every((r) => r.app === app));
  }

  const base = rows[0].runs;
  const line = (name, runs) => {
    const bytes = median(runs.map((r) => r.bytes));
    const extra = bytes - median(base.map((r) => r.bytes));
    return `  ${name.padEnd(44)} ${kb(bytes).padStart(9)} ${(extra ? '+' + kb(extra) : '').padStart(10)} ${String(median(runs.map((r) => r.requests))).padStart(5)}   ${median(runs.map((r) => r.scriptMs)).toFixed(1).padStart(7)} ${median(runs.map((r) => r.taskMs)).toFixed(1).padStart(8)}`;
  };
  console.log('\nPage weight on load (fresh browser cache; median of 3 loads; CDP Network encodedDataLength, Performance.getMetrics)');
  console.log(`  ${'page'.padEnd(44)} ${'transfer'.padStart(9)} ${'widget'.padStart(10)} ${'reqs'.padStart(5)}   ${'script ms'.padStart(7)} ${'task ms'.padStart(8)}`);
  for (const { name, runs } of rows) console.log(line(name, runs));
  const loaderRun = rows[1].runs[0];
  for (const r of loaderRun.list) if (!r.url.startsWith(site.origin)) console.log(`    loader page: ${kb(r.bytes).padStart(8)}  ${r.url.replace(parley.baseUrl, '<parley>')}${r.headers?.['content-encoding'] ? ' (' + r.headers['content-encoding'] + ')' : ''}`);
  const fullRun = rows[2].runs[0];
  for (const r of fullRun.list) if (!r.url.startsWith(site.origin)) console.log(`    full widget page: ${kb(r.bytes).padStart(8)}  ${r.url.replace(parley.baseUrl, '<parley>').replace(/\?.*/, '?…')}`);
});

test('the loader is at most 6 KB gzipped and served compressed, revalidated by its ETag', async () => {
  const res = await fetch(parley.baseUrl + '/chatbot-widget.js', { headers: { 'Accept-Encoding': 'identity' } });
  const code = Buffer.from(await res.arrayBuffer());
  const gz = gzipSync(code).length;
  console.log(`\nLoader: ${kb(code.length)} minified, ${kb(gz)} gzipped (limit ${kb(LIMIT)})`);
  assert.ok(gz <= LIMIT, `the loader is ${gz} bytes gzipped`);
  assert.match(res.headers.get('cache-control'), /max-age=300/);

  // What Chromium receives: compressed, and (after the first) a 304 or the cache.
  const context = await newContext(browser);
  const rec = await recordedPage(context);
  await rec.page.goto(site.origin + '/widget.html');
  await rec.settle(loaderDrawn);
  const loader = rec.requests().find((r) => r.url === parley.baseUrl + '/chatbot-widget.js');
  assert.match(loader.headers['content-encoding'], /^(br|gzip)$/);
  const body = loader.bytes - loader.headerBytes;
  console.log(`Loader over the wire: ${kb(body)} (${loader.headers['content-encoding']}) + ${kb(loader.headerBytes)} of headers`);
  assert.ok(body <= LIMIT, `${body} bytes on the wire`);
  assert.ok(loader.headers.etag, 'an ETag to revalidate with');
  const again = await fetch(parley.baseUrl + '/chatbot-widget.js', { headers: { 'If-None-Match': loader.headers.etag } });
  assert.equal(again.status, 304);
  await context.close();
});

test('the full widget comes when the visitor opens the chat, and the launcher does not move', async () => {
  const context = await newContext(browser, { viewport: { width: 1280, height: 800 } });
  const rec = await recordedPage(context);
  const { page } = rec;
  await page.goto(site.origin + '/widget.html');
  await rec.settle(loaderDrawn);
  assert.equal(fetchedApp(rec), false, 'not fetched before the chat is opened');
  assert.deepEqual(
    await page.evaluate(() => {
      const w = window.ChatbotWidget;
      return { loaded: w.loaded, id: w.state.conversationId, messages: w.state.messages, q: 'q' in w, echo: w.echo };
    }),
    { loaded: false, id: null, messages: [], q: false, echo: null },
  );
  const launcher = page.locator('#parley-chatbot-widget .launcher');
  assert.equal(await launcher.getAttribute('aria-label'), LOCALES.en.openChat);
  const look = () => launcher.evaluate((el) => ({ box: JSON.stringify(el.getBoundingClientRect()), bg: getComputedStyle(el).backgroundColor, icon: el.querySelector('path').getAttribute('d') }));
  const before = await look();

  // From the keyboard: the focus lands in the message box once the rest has come.
  await launcher.focus();
  const fetched = page.waitForRequest(APP);
  await page.keyboard.press('Enter');
  const request = await fetched;
  await page.locator('#parley-chatbot-widget .panel').waitFor({ state: 'visible' });
  const response = await request.response();
  assert.equal(response.headers()['cache-control'], 'public, max-age=31536000, immutable');
  assert.equal(await page.evaluate(() => window.ChatbotWidget.loaded), true);
  await page.waitForFunction(() => document.querySelector('#parley-chatbot-widget').shadowRoot.activeElement?.tagName === 'TEXTAREA');
  assert.equal(await page.locator('#parley-chatbot-widget').count(), 1, "the loader's launcher gave way");

  // Closed again: the full widget's launcher sits where the loader's was, and looks the same.
  await page.keyboard.press('Escape');
  await page.locator('#parley-chatbot-widget .panel').waitFor({ state: 'hidden' });
  assert.deepEqual(await look(), before);
  assert.deepEqual(page.errors, []);
  await context.close();
});

test('a press held on the loader\'s launcher while the full widget takes over still opens the chat', async () => {
  const context = await newContext(browser, { viewport: { width: 1280, height: 800 } });
  const rec = await recordedPage(context);
  const { page } = rec;
  await page.goto(site.origin + '/widget.html');
  await rec.settle(loaderDrawn);
  const box = await page.locator('#parley-chatbot-widget .launcher').boundingBox();
  await page.evaluate(() => (window.loaderHost = document.querySelector('#parley-chatbot-widget')));
  // The press starts the fetch; the button is released only after the loader's launcher it went
  // down on has left the page: the release on the full widget's launcher still opens the chat.
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.down();
  await page.waitForFunction(() => window.ChatbotWidget.loaded === true && !window.loaderHost.isConnected && document.querySelectorAll('#parley-chatbot-widget').length === 1);
  await page.mouse.up();
  await page.locator('#parley-chatbot-widget .panel').waitFor({ state: 'visible' });
  assert.deepEqual(page.errors, []);
  await context.close();
});

for (const [size, viewport] of [['desktop', { width: 1280, height: 800 }], ['phone', { width: 390, height: 844 }]]) {
  test(`the loader's launcher at ${size} size: seen, reached with Tab, no accessibility violation`, async () => {
    const context = await newContext(browser, { viewport, hasTouch: size === 'phone', isMobile: size === 'phone' });
    const rec = await recordedPage(context);
    const { page } = rec;
    await page.goto(site.origin + '/widget.html');
    await rec.settle(loaderDrawn);
    await page.keyboard.press('Tab');
    assert.equal(
      await page.evaluate(() => document.activeElement?.shadowRoot?.activeElement?.classList.contains('launcher')),
      true,
      'the first Tab reaches the launcher',
    );
    const box = await page.locator('#parley-chatbot-widget .launcher').boundingBox();
    assert.ok(box.x + box.width <= viewport.width && box.y + box.height <= viewport.height, 'inside the screen');
    await screenshot(page, `loader-launcher-${size}`);
    assert.deepEqual(await axeViolations(page), []);
    assert.deepEqual(await accessibilityProblems(page), []);
    assert.equal(fetchedApp(rec), false, 'looking at it fetched nothing more');
    assert.deepEqual(page.errors, []);
    await context.close();
  });
}

test('with a conversation in this browser the full widget comes at load, without opening', async () => {
  const context = await newContext(browser);
  await withConversation(context);
  const rec = await recordedPage(context);
  await rec.page.goto(site.origin + '/widget.html');
  await rec.settle(() => window.ChatbotWidget?.loaded === true && window.ChatbotWidget.state.realtimeConnected);
  assert.ok(fetchedApp(rec));
  assert.equal(await rec.page.locator('#parley-chatbot-widget .panel').isVisible(), false, 'still closed');
  assert.ok((await rec.page.evaluate(() => window.ChatbotWidget.state.messages.map((m) => m.message))).includes('Hello from an earlier page'));

  // Another tab of the site, open before the conversation started, follows it when it starts.
  const other = await newContext(browser);
  const quiet = await recordedPage(other);
  await quiet.page.goto(site.origin + '/widget.html');
  await quiet.settle(loaderDrawn);
  assert.equal(fetchedApp(quiet), false);
  const second = await other.newPage();
  await second.goto(site.origin + '/widget.html');
  await second.waitForFunction(loaderDrawn);
  await second.locator('#parley-chatbot-widget .launcher').click();
  await second.locator('#parley-chatbot-widget .composer textarea').fill('Started in the other tab');
  await second.keyboard.press('Enter');
  await quiet.page.waitForFunction(() => window.ChatbotWidget.loaded === true);
  await quiet.page.waitForFunction(() => window.ChatbotWidget.state.messages.some((m) => m.message === 'Started in the other tab'), null, { timeout: 20000 });
  await other.close();
  await context.close();
});

test('calls made before the full widget arrives are queued and replayed in order', async () => {
  const calls = [
    "window.__log = [];",
    "ChatbotWidget.on('ready', function () { __log.push('ready'); });",
    "ChatbotWidget.on('open', function () { __log.push('open'); });",
    "ChatbotWidget.setUser({ name: 'First' }); ChatbotWidget.setUser({ name: 'Second' });",
  ].join(' ');
  const context = await newContext(browser);
  const rec = await recordedPage(context);
  const { page } = rec;
  await page.goto(site.origin + '/widget.html?calls=' + encodeURIComponent(calls));
  await rec.settle(loaderDrawn);
  // The loader said 'ready' (its launcher is up) and queued the rest: nothing fetched yet.
  assert.deepEqual(await page.evaluate(() => window.__log), ['ready']);
  assert.equal(fetchedApp(rec), false, 'setUser and on() need no more than the loader');

  await page.evaluate(() => {
    const w = window.ChatbotWidget;
    const off = w.on('open', () => window.__log.push('unsubscribed'));
    off();
    w.on('close', () => window.__log.push('close'));
    window.__transcript = w.transcript().then(
      () => 'sent',
      (error) => 'refused: ' + error.message,
    );
    w.open();
    w.close();
    w.open();
  });
  // transcript() and open() fetch the rest; the calls then run in the order they were made.
  await page.locator('#parley-chatbot-widget .panel').waitFor({ state: 'visible' });
  assert.equal(await page.evaluate(() => window.__transcript), 'refused: no conversation yet');
  assert.deepEqual(await page.evaluate(() => window.__log), ['ready', 'open'], "'ready' once, 'open' once, the removed listener never");
  const user = await page.evaluate(() => {
    for (let i = 0; i < localStorage.length; i++) if (localStorage.key(i).endsWith(':user')) return JSON.parse(localStorage.getItem(localStorage.key(i)));
    return null;
  });
  assert.equal(user?.name, 'Second');
  assert.equal(await page.evaluate(() => window.ChatbotWidget.load().then(() => window.ChatbotWidget.loaded)), true);
  assert.deepEqual(page.errors, []);
  await context.close();
});

test('the proactive greeting fetches the full widget when it is due, not before; the loader speaks the language', async () => {
  const [demo] = JSON.parse(await parley.cli(['widget', 'list', '--json']));
  const original = demo.settings && typeof demo.settings === 'object' ? demo.settings : {};
  await parley.cli(['widget', 'configure', String(demo.id), '--settings', JSON.stringify({ ...original, proactive: { message: 'Need a hand?', delay_secs: 3 } })]);
  try {
    const context = await newContext(browser, { locale: 'fr-FR' });
    const rec = await recordedPage(context);
    const { page } = rec;
    await page.goto(site.origin + '/widget.html');
    await page.waitForFunction(loaderDrawn);
    assert.equal(fetchedApp(rec), false, 'not while the greeting waits');
    assert.equal(await page.locator('#parley-chatbot-widget .launcher').getAttribute('aria-label'), LOCALES.fr.openChat);
    await page.locator('#parley-chatbot-widget .nudge').waitFor({ state: 'visible', timeout: 15000 });
    assert.ok(fetchedApp(rec), 'fetched for the greeting');
    assert.equal(await page.locator('#parley-chatbot-widget .nudge-text').textContent(), 'Need a hand?');
    assert.deepEqual(page.errors, []);
    await context.close();
  } finally {
    await parley.cli(['widget', 'configure', String(demo.id), '--settings', JSON.stringify(original)]);
  }
});
