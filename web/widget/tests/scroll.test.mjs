// An image that arrives while the visitor reads the end of the thread keeps them at the end once
// it has loaded (it makes the list taller after it is drawn); a visitor who scrolled up to read
// older messages is left where they are. Screenshots at desktop and phone sizes.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startParley } from '../../tests/lib/server.mjs';
import { startPages } from '../../tests/lib/pages.mjs';
import { png } from '../../tests/lib/png.mjs';
import { launch, newContext, openPage, widget, screenshot } from '../../tests/lib/browser.mjs';

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

/** The agent sends an image (a tall one) to the conversation. */
async function agentImage(conversationId, name) {
  const form = new FormData();
  form.append('client_id', name.replace('.', '-'));
  form.append('attachment', new Blob([png(320, [22, 163, 74])], { type: 'image/png' }), name);
  const res = await fetch(`${parley.baseUrl}/api/agent/conversations/${conversationId}/messages`, {
    method: 'POST',
    headers: { Authorization: 'Bearer ' + parley.agentToken },
    body: form,
  });
  assert.equal(res.status, 201, await res.text());
}

/** Resolves after the page has drawn two more frames: the load handlers and their scrolling are done. */
const frames = (page) => page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));

const scroll = (page) =>
  page.evaluate(() => {
    const list = document.querySelector('#parley-chatbot-widget').shadowRoot.querySelector('.list');
    return { gap: list.scrollHeight - list.scrollTop - list.clientHeight, top: list.scrollTop };
  });

for (const [size, viewport] of [
  ['desktop', { width: 1280, height: 800 }],
  ['phone', { width: 390, height: 844 }],
]) {
  test(`an image that loads late keeps a visitor at the end, not one reading above (${size})`, async () => {
    const context = await newContext(browser, { viewport });
    const page = await openPage(context, pages.page());
    const w = widget(page);
    await w.open();
    for (let i = 1; i <= 12; i++) await w.send('Line ' + i);
    await w.waitForMessage('Line 12');
    const { conversationId } = await w.state();
    // Images come slowly, so each is drawn before it has its height.
    await page.route('**/api/chatbot/attachments/**', async (route) => {
      await new Promise((r) => setTimeout(r, 400));
      await route.continue();
    });

    await agentImage(conversationId, 'first.png');
    const first = page.locator('#parley-chatbot-widget .bubble img[alt="first.png"]');
    await first.waitFor();
    await page.waitForFunction((img) => img.complete && img.naturalHeight > 0, await first.elementHandle());
    await frames(page);
    assert.ok((await scroll(page)).gap <= 2, 'at the end after the image loaded: ' + JSON.stringify(await scroll(page)));
    await screenshot(page, 'image-scroll-' + size);

    // Reading above: a new image does not move them.
    await page.evaluate(() => {
      const list = document.querySelector('#parley-chatbot-widget').shadowRoot.querySelector('.list');
      list.scrollTop = 0;
      list.dispatchEvent(new Event('scroll'));
    });
    await agentImage(conversationId, 'second.png');
    const second = page.locator('#parley-chatbot-widget .bubble img[alt="second.png"]');
    await second.waitFor({ state: 'attached' });
    await page.waitForFunction((img) => img.complete && img.naturalHeight > 0, await second.elementHandle());
    await frames(page);
    assert.equal((await scroll(page)).top, 0, 'left where they were reading');
    await context.close();
  });
}
