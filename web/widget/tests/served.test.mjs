// The pages as `parley serve` itself serves them (GET /chatbot-test.html with the demo token and
// its own origin filled in, GET /chatbot-widget.js from web/widget/dist): the seed's test page works
// out of the box, same origin.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startParley } from '../../tests/lib/server.mjs';
import { launch, newContext, openPage, widget, screenshot } from '../../tests/lib/browser.mjs';

let parley, browser;

before(async () => {
  parley = await startParley({ env: { PARLEY_BOT_WORKER: 'true' } });
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await parley?.stop();
});

test('the server serves the test page and the script, and the page chats', async () => {
  const page404 = await fetch(parley.baseUrl + '/chatbot-test.html');
  const script404 = await fetch(parley.baseUrl + '/chatbot-widget.js');
  assert.equal(page404.status, 200, 'GET /chatbot-test.html');
  assert.equal(script404.status, 200, 'GET /chatbot-widget.js');
  const html = await page404.text();
  assert.ok(!html.includes('__PARLEY_'), 'placeholders are filled in');
  assert.ok(html.includes(parley.token), 'the demo token is in the page');
  assert.match(script404.headers.get('content-type') || '', /javascript/);

  const context = await newContext(browser);
  const page = await openPage(context, parley.baseUrl + '/chatbot-test.html');
  const w = widget(page);
  await w.open();
  await w.send('Hello from the served page');
  await w.waitForMessage('Hello from the served page');
  await w.waitForState(() => window.ChatbotWidget.state.realtimeConnected);
  assert.equal((await w.state()).realtimeProvider, 'reverb');
  await screenshot(page, 'served-page');
  assert.deepEqual(page.errors, []);
  await context.close();
});

test('the built-in bot answers the demo widget: the dots show, then the answer', async (t) => {
  const context = await newContext(browser);
  const page = await openPage(context, parley.baseUrl + '/chatbot-test.html');
  const w = widget(page);
  await w.open();
  // The first message starts the conversation; the widget subscribes to its channel then.
  await w.send('Hello there');
  await w.waitForMessage('Hello there');
  await w.waitForState(() => window.ChatbotWidget.state.realtimeConnected && !!window.ChatbotWidget.state.channelSubscription);
  // The first message gets a bot reply of its own: let it land before recording the second's,
  // or its answer could be recorded ahead of the second reply's dots.
  await w.waitForState(() => window.ChatbotWidget.state.messages.some((m) => m.sender_type === 'bot'));
  // Record, inside the page, every time the typing dots appear and every bot message that is
  // rendered, in order: the bot answers in milliseconds, too fast to poll for.
  await page.evaluate(() => {
    const root = document.querySelector('#parley-chatbot-widget').shadowRoot;
    window.__seen = [];
    const before = root.querySelectorAll('.list .msg.bot').length;
    new MutationObserver(() => {
      const dots = !!root.querySelector('.typing .dots');
      const last = window.__seen[window.__seen.length - 1];
      if (dots && last !== 'dots') window.__seen.push('dots');
      const bot = root.querySelectorAll('.list .msg.bot').length - before;
      if (bot > window.__seen.filter((s) => s === 'answer').length) window.__seen.push('answer');
    }).observe(root, { childList: true, subtree: true, attributes: true });
  });
  await w.send('How do I embed the widget on my site?');
  await w.waitForMessage('parley widget create');
  const seen = await page.evaluate(() => window.__seen);
  assert.ok(seen.includes('dots'), `the typing dots never showed: ${JSON.stringify(seen)}`);
  assert.ok(seen.indexOf('dots') < seen.indexOf('answer'), `dots after the answer: ${JSON.stringify(seen)}`);
  const state = await w.state();
  const answers = state.messages.filter((m) => m.sender_type === 'bot' && m.text.includes('parley widget create'));
  assert.equal(answers.length, 1);
  await screenshot(page, 'bot-answer');
  await context.close();
});
