// What a visitor trips over, fixed: the widget goes by the site's name (PARLEY_APP_NAME), never
// the team's internal one ("Demo"); an agent closing the conversation is a line in the thread,
// live and after a reload, and reopening it is one too (the rating prompt goes away, the chat
// goes on); a file the server refuses, or one too large, is named in what the visitor is told;
// message text takes its own direction (dir="auto"). axe-core finds no serious or critical
// violation on the widget closed, open and at phone size. Screenshots at desktop and phone sizes.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startParley } from '../../tests/lib/server.mjs';
import { startPages } from '../../tests/lib/pages.mjs';
import { launch, newContext, openPage, widget, screenshot } from '../../tests/lib/browser.mjs';
import { accessibilityProblems, axeViolations } from '../../tests/lib/a11y.mjs';
import { en } from '../src/i18n.js';

let parley, pages, browser;

before(async () => {
  parley = await startParley({ agent: true, env: { PARLEY_APP_NAME: 'Acme Shop' } });
  pages = await startPages(parley);
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await pages?.stop();
  await parley?.stop();
});

const SIZES = [
  ['desktop', { width: 1280, height: 800 }],
  ['phone', { width: 390, height: 844 }],
];
const CLOSED = 'The conversation was closed.';
const REOPENED = 'The conversation was reopened.';
const shadow = (page, selector) => page.locator('#parley-chatbot-widget ' + selector);
const status = (id, to) => parley.agentApi('POST', `/api/agent/conversations/${id}/status`, { body: { status: to } });

for (const [size, viewport] of SIZES) {
  test(`the site's name, a closed and reopened conversation said in the thread, no axe violation (${size})`, async () => {
    const context = await newContext(browser, { viewport, ...(size === 'phone' ? { isMobile: true, hasTouch: true } : {}) });
    const page = await openPage(context, pages.page({ visitorName: 'Vera ' + size }));
    const w = widget(page);
    await w.ready();
    // Closed: only the launcher.
    assert.deepEqual(await axeViolations(page), [], 'closed');
    await screenshot(page, 'polish-closed-' + size);

    await w.open();
    assert.equal(await shadow(page, '#pw-title').textContent(), 'Acme Shop', 'the site, not the widget called "Demo"');
    assert.equal(await shadow(page, '.greeting .meta b').textContent(), 'Acme Shop', 'the greeting speaks as the site');
    assert.equal(await page.locator('#parley-chatbot-widget', { hasText: 'Demo' }).count(), 0, 'the internal name is shown nowhere');

    // Mixed directions: each message takes its own.
    await w.send('مرحبا! Is this in stock?');
    await w.waitForMessage('Is this in stock?');
    assert.equal(await w.message('Is this in stock?').locator('.bubble [dir=auto]').count(), 1);
    const { conversationId: id } = await w.state();
    assert.deepEqual(await axeViolations(page), [], 'open');

    // Closed by an agent: a line, live; the header says so; the rating is asked.
    assert.equal((await status(id, 'closed')).status, 200);
    await shadow(page, '.msg.system').filter({ hasText: CLOSED }).waitFor();
    await shadow(page, '.status').filter({ hasText: en.statusClosed }).waitFor();
    await shadow(page, '.rate').waitFor();
    assert.deepEqual(await axeViolations(page), [], 'closed conversation');
    assert.deepEqual(await accessibilityProblems(page), []);
    await screenshot(page, 'polish-conversation-closed-' + size);

    // After a reload the line is in the history, once.
    await page.reload();
    await w.open();
    await shadow(page, '.msg.system').filter({ hasText: CLOSED }).waitFor();
    assert.equal(await shadow(page, '.msg.system').filter({ hasText: CLOSED }).count(), 1);

    // Reopened: a line too, the rating prompt goes, the visitor writes on in the same conversation.
    assert.equal((await status(id, 'human')).status, 200);
    await shadow(page, '.msg.system').filter({ hasText: REOPENED }).waitFor();
    await shadow(page, '.rate').waitFor({ state: 'hidden' });
    await w.send('Thanks for coming back');
    await w.waitForMessage('Thanks for coming back');
    assert.equal((await w.state()).conversationId, id, 'the same conversation');
    assert.deepEqual(page.errors, []);
    await context.close();
  });

  test(`a refused or too large file is named in what the visitor is told (${size})`, async () => {
    const context = await newContext(browser, { viewport });
    const page = await openPage(context, pages.page({ visitorName: 'Frank ' + size }));
    const w = widget(page);
    await w.open();
    await w.send('I have a photo');
    await w.waitForMessage('I have a photo');
    const file = shadow(page, '.composer input[type=file]');

    // Too large: stopped before any upload.
    await file.setInputFiles({ name: 'big-photo.png', mimeType: 'image/png', buffer: Buffer.alloc(11 * 1024 * 1024) });
    await shadow(page, '.banner').filter({ hasText: 'big-photo.png is too large (max 10 MB).' }).waitFor();

    // Not a kind of file the server takes (a program named .png): the server's 415, said with the name.
    const exe = Buffer.from('MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00This program cannot be run in DOS mode.', 'latin1');
    await file.setInputFiles({ name: 'setup.png', mimeType: 'image/png', buffer: exe });
    const said = en.fileType.replace('{name}', 'setup.png');
    await shadow(page, '.banner').filter({ hasText: said }).waitFor();
    await shadow(page, '.msg.failed .note').filter({ hasText: said }).waitFor();
    assert.equal(await page.locator('#parley-chatbot-widget', { hasText: /not allowed|not accepted/ }).count(), 0, "not the server's words");
    await screenshot(page, 'polish-file-refused-' + size);
    assert.deepEqual(await axeViolations(page), []);
    await context.close();
  });
}
