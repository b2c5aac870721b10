// Files and voice notes: a PNG goes up with visible progress, shows as a preview for the sender
// and for another tab, and is served back by the API; a voice note recorded from the fake
// microphone is uploaded as audio/webm and plays back in an <audio> element.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startParley } from '../../tests/lib/server.mjs';
import { startPages } from '../../tests/lib/pages.mjs';
import { launch, newContext, openPage, widget, screenshot } from '../../tests/lib/browser.mjs';
import { png } from '../../tests/lib/png.mjs';

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

const fileInput = '#parley-chatbot-widget .composer input[type=file]';

test('an image attachment uploads with progress and renders as a preview', async () => {
  const context = await newContext(browser);
  const page = await openPage(context, pages.page());
  const other = await openPage(context, pages.page());
  const w = widget(page);
  const wo = widget(other);
  await w.open();
  await w.send('Here is a photo of the damage');
  await w.waitForMessage('photo of the damage');
  await wo.open();
  await wo.waitForState(() => window.ChatbotWidget.state.realtimeConnected);

  // A slow uplink, so the progress bar is there to be seen.
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 20, downloadThroughput: -1, uploadThroughput: 400 * 1024 });
  await page.setInputFiles(fileInput, { name: 'damage.png', mimeType: 'image/png', buffer: png(96, [220, 38, 38], 900 * 1024) });
  await page.locator('#parley-chatbot-widget .msg.pending [role=progressbar]').waitFor();
  await screenshot(page, 'upload-progress');
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });

  for (const p of [page, other]) {
    const img = p.locator('#parley-chatbot-widget .msg:not(.pending) .bubble img[alt="damage.png"]');
    await img.waitFor({ timeout: 20000 });
    const src = await img.getAttribute('src');
    assert.ok(src.startsWith(parley.baseUrl + '/api/chatbot/attachments/'), src);
    await p.waitForFunction((el) => el.complete && el.naturalWidth === 96, await img.elementHandle());
    const res = await fetch(src);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'image/png');
  }
  const s = await w.state();
  assert.equal(s.messages.filter((m) => m.pending).length, 0);
  await screenshot(other, 'image-received');
  assert.deepEqual(page.errors, []);
  await context.close();
});

test('a voice note is recorded from the microphone, uploaded and played back', async () => {
  const context = await newContext(browser);
  const page = await openPage(context, pages.page());
  const w = widget(page);
  await w.open();
  await page.locator('#parley-chatbot-widget .composer button[aria-label="Record a voice note"]').click();
  await page.locator('#parley-chatbot-widget .rec [role=timer]', { hasText: '0:01' }).waitFor({ timeout: 10000 });
  await screenshot(page, 'recording');
  await page.locator('#parley-chatbot-widget .composer button[aria-label="Stop and send the voice note"]').click();

  const audio = page.locator('#parley-chatbot-widget .msg:not(.pending) .bubble audio');
  await audio.waitFor({ timeout: 20000 });
  const src = await audio.getAttribute('src');
  assert.ok(src.startsWith(parley.baseUrl + '/api/chatbot/attachments/'), src);
  // The browser can read it as audio (metadata loaded) from the server's copy.
  await page.waitForFunction((el) => el.readyState >= 1 || el.error, await audio.elementHandle(), { timeout: 10000 });
  assert.equal(await audio.evaluate((el) => el.error), null);
  const res = await fetch(src);
  assert.equal(res.headers.get('content-type'), 'audio/webm');
  const state = await page.evaluate(() => window.ChatbotWidget.state.messages.map((m) => ({ voice: m.is_voice, name: m.attachment_name })));
  assert.equal(state.length, 1);
  assert.equal(state[0].voice, true);
  assert.match(state[0].name, /^voice-note-.*\.webm$/);
  // Focus went back to the mic button, ready for the next note.
  assert.equal(await page.evaluate(() => document.querySelector('#parley-chatbot-widget').shadowRoot.activeElement?.getAttribute('aria-label')), 'Record a voice note');
  await screenshot(page, 'voice-note');
  assert.deepEqual(page.errors, []);
  await context.close();
});
