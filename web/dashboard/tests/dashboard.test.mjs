// The agents' dashboard (/dashboard, as `parley serve` serves it) against the real server, with a
// visitor's widget on another origin: signing in, availability reaching the widget live, a
// conversation both ways live (typing, read receipts, no doubles), file replies (an image with a
// caption reaching the widget; refused and too-large files stopped), the team list, a waiting
// conversation getting the hidden tab's attention, HTML shown as text, polling without a socket,
// and a refused token loading nothing.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { closedPort, startParley } from '../../tests/lib/server.mjs';
import { startPages } from '../../tests/lib/pages.mjs';
import { png } from '../../tests/lib/png.mjs';
import { SCREENSHOTS, dropFrames, holdNextRequest, launch, newContext, openPage, trackFetches, widget } from '../../tests/lib/browser.mjs';

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

const XSS = '<img src=x onerror=window.__xss=1>';
const connected = () => window.ChatbotWidget?.state?.realtimeConnected === true;

/** Resolves once `check()` is truthy (polled every 100 ms), or fails after `ms`. */
async function until(check, what, ms = 10000) {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error('timed out waiting for ' + what);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const serverAgent = async () => (await parley.agentApi('GET', '/api/agent/me')).json.agent;

async function shot(page, name) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, 'dashboard-' + name + '.png') });
}

/** The dashboard as an agent uses it. */
function dashboard(page, server = parley) {
  const d = {
    async signIn(token = server.agentToken) {
      await page.goto(server.dashboardUrl);
      await page.getByLabel('Agent token').fill(token);
      await page.getByRole('button', { name: 'Sign in' }).click();
    },
    /** Signed in, and the team channel subscribed. */
    async live() {
      await page.waitForFunction(() => window.ParleyDashboard?.state?.agentsLive === true, null, { timeout: 20000 });
    },
    availability: (label) => page.getByRole('radio', { name: label, exact: true }),
    tab: (name) => page.getByRole('tab', { name: new RegExp('^' + name) }),
    row: (text) => page.locator('.convs .conv', { hasText: text }),
    /** A stored (not pending) message whose text contains `text`. */
    message: (text) => page.locator('.messages .msg:not(.pending)').filter({ has: page.locator('.bubble', { hasText: text }) }),
    reply: async (text) => {
      await page.locator('#pd-reply').fill(text);
      await page.locator('#pd-reply').press('Enter');
    },
    typing: page.locator('.conversation .typing'),
    team: (name) => page.locator('.team-list .agent', { hasText: name }),
    state: () => page.evaluate(() => window.ParleyDashboard.state),
  };
  return d;
}

/**
 * A visitor on the test page who has started a conversation and is subscribed to it; `user`
 * ({name, email}) goes through ChatbotWidget.setUser before the script loads.
 */
async function visitor(user, firstMessage) {
  const context = await newContext(browser);
  const calls = user ? 'ChatbotWidget.setUser(' + JSON.stringify(user) + ');' : undefined;
  const page = await openPage(context, pages.page(null, { calls }));
  const w = widget(page);
  await w.open();
  await w.send(firstMessage);
  await w.waitForMessage(firstMessage);
  await w.waitForState(connected);
  const { conversationId } = await w.state();
  return { context, page, w, conversationId };
}

test('an agent going online and offline shows on a visitor\'s widget, live', async () => {
  const agentContext = await newContext(browser);
  const page = await openPage(agentContext);
  const d = dashboard(page);
  await d.signIn();
  await d.live();
  await page.locator('.agent-name', { hasText: 'Demo Agent' }).waitFor();
  assert.equal(await d.availability('Offline').isChecked(), true, 'a new agent starts offline');

  const v = await visitor(null, 'Is anyone there?');
  const status = v.page.locator('#parley-chatbot-widget .head .status');
  const agentsOnline = () => v.page.evaluate(() => window.ChatbotWidget.state.agentsOnline);
  assert.equal(await agentsOnline(), false);
  assert.equal(await status.locator('.dot.on').count(), 0);

  await d.availability('Online').check();
  await status.filter({ hasText: 'We are online' }).waitFor();
  await status.locator('.dot.on').waitFor();
  assert.equal(await agentsOnline(), true);
  await d.team('Demo Agent (you)').and(page.locator('.online')).waitFor();
  assert.equal((await v.w.state()).realtimeConnected, true, 'it came over the socket, not a poll');
  await shot(page, 'online');

  await d.availability('Away').check();
  await v.page.waitForFunction(() => window.ChatbotWidget.state.agentsOnline === false);
  await status.locator('.dot.on').waitFor({ state: 'detached' });
  assert.doesNotMatch(await status.textContent(), /We are online/);

  await d.availability('Online').check();
  await v.page.waitForFunction(() => window.ChatbotWidget.state.agentsOnline === true);
  await d.availability('Offline').check();
  await v.page.waitForFunction(() => window.ChatbotWidget.state.agentsOnline === false);
  await status.locator('.dot.on').waitFor({ state: 'detached' });
  assert.equal((await serverAgent()).availability, 'offline', 'the server has it too');

  assert.deepEqual(page.errors, []);
  assert.deepEqual(v.page.errors, []);
  await v.context.close();
  await agentContext.close();
});

test('a visitor and an agent chat live both ways: inbox, reply with the agent\'s name, typing, seen', async () => {
  const agentContext = await newContext(browser);
  const page = await openPage(agentContext);
  const d = dashboard(page);
  await d.signIn();
  await d.live();
  await d.availability('Online').check();
  await d.tab('Bot').click();

  // The visitor writes after the dashboard is open: the row arrives through InboxUpdated.
  const v = await visitor({ name: 'Ada Lovelace', email: 'ada@example.com' }, 'I need help with my order');
  const row = d.row('Ada Lovelace');
  await row.filter({ hasText: 'I need help with my order' }).waitFor();
  assert.equal(await row.locator('.unread-dot').count(), 1, 'unread until opened');
  await row.click();
  await d.message('I need help with my order').waitFor();
  await page.waitForFunction((id) => window.ParleyDashboard.state.conversationLive && window.ParleyDashboard.state.conversationId === id, v.conversationId);
  assert.equal(await row.locator('.unread-dot').count(), 0, 'read once open');
  await page.locator('.details dd', { hasText: 'ada@example.com' }).waitFor();
  // The agent's read receipt reaches the widget as "Seen".
  await v.w.message('I need help with my order').locator('.seen').waitFor();

  // The visitor types: the agent sees it.
  await v.w.input.pressSequentially('Ord');
  await d.typing.filter({ hasText: 'Ada Lovelace is typing' }).waitFor();
  await v.w.input.fill('');

  // The agent types, then replies: the visitor sees the typing and the reply with the name.
  await page.locator('#pd-reply').pressSequentially('Hi Ada');
  await v.page.locator('#parley-chatbot-widget .typing', { hasText: 'Demo Agent is typing' }).waitFor();
  await page.locator('#pd-reply').fill('');
  await d.reply('Hi Ada, I am looking into it now.');
  await v.w.waitForMessage('Hi Ada, I am looking into it now.');
  const reply = v.w.message('Hi Ada, I am looking into it now.');
  assert.equal(await reply.locator('.meta b').textContent(), 'Demo Agent');
  assert.match(await reply.getAttribute('class'), /\bagent\b/);
  await d.message('Hi Ada, I am looking into it now.').waitFor();
  assert.ok(v.page.logs.includes('✓ New message received via reverb: Hi Ada, I am looking into it now.'), 'the reply came over the socket');

  // Replying took the conversation over from the bot: it is now the agent's.
  await page.locator('.status-pill', { hasText: 'With an agent' }).waitFor();
  await d.tab('Mine').click();
  await d.row('Ada Lovelace').waitFor();

  await v.w.send('Thanks! It is order #1234');
  await d.message('Thanks! It is order #1234').waitFor();
  await v.w.message('Thanks! It is order #1234').locator('.seen').waitFor();

  const state = await d.state();
  const texts = state.messages.map((m) => m.message);
  for (const text of ['I need help with my order', 'Hi Ada, I am looking into it now.', 'Thanks! It is order #1234']) {
    assert.equal(texts.filter((t) => t === text).length, 1, `"${text}" once`);
  }
  assert.ok(state.messages.every((m) => !m.pending && m.id != null), 'nothing left pending');
  const ids = state.messages.map((m) => m.id);
  assert.deepEqual(ids, [...ids].sort((a, b) => a - b), 'ordered by id');
  await shot(page, 'conversation');

  // The visitor's side has the reply once too.
  const visitorTexts = (await v.w.state()).messages.map((m) => m.text);
  assert.equal(visitorTexts.filter((t) => t === 'Hi Ada, I am looking into it now.').length, 1);

  // Close, then reopen.
  await page.getByRole('button', { name: 'Close', exact: true }).click();
  await page.locator('.status-pill', { hasText: 'Closed' }).waitFor();
  assert.equal(await page.locator('#pd-reply').isDisabled(), true, 'no replies to a closed conversation');
  await d.tab('Closed').click();
  await d.row('Ada Lovelace').waitFor();
  await page.getByRole('button', { name: 'Reopen' }).click();
  await page.locator('.status-pill', { hasText: 'With an agent' }).waitFor();
  await d.tab('Mine').click();
  await d.row('Ada Lovelace').waitFor();

  assert.deepEqual(page.errors, []);
  assert.deepEqual(v.page.errors, []);
  await v.context.close();
  await agentContext.close();
});

test('replies survive failures: a lost request is retried and stored once; a refused one can be removed', async () => {
  const agentContext = await newContext(browser);
  const page = await openPage(agentContext);
  const d = dashboard(page);
  await d.signIn();
  await d.live();
  const started = await parley.api('POST', '/api/chatbot/conversation', { body: { visitor_name: 'Rita' } });
  const { id } = started.json.conversation;
  await parley.api('POST', `/api/chatbot/conversation/${id}/messages`, { body: { message: 'Are you there?', client_id: 'r1' }, visitorToken: started.json.visitor_token });
  await page.goto(parley.dashboardUrl + '#/c/' + id);
  await d.message('Are you there?').waitFor();

  // The first attempt never reaches the server; the retry does.
  let attempts = 0;
  await page.route('**/api/agent/conversations/*/messages', (route) => (++attempts === 1 ? route.abort('connectionreset') : route.continue()));
  await d.reply('Yes, one moment');
  await page.locator('.messages .msg.pending', { hasText: 'Yes, one moment' }).waitFor();
  await d.message('Yes, one moment').waitFor();
  assert.ok(attempts >= 2, 'it was retried');
  // Refused for good (as when the conversation was closed meanwhile): Retry and Remove.
  await page.unroute('**/api/agent/conversations/*/messages');
  await page.route('**/api/agent/conversations/*/messages', (route) =>
    route.fulfill({ status: 409, contentType: 'application/json', body: JSON.stringify({ success: false, error: { code: 'conflict', message: 'closed' } }) }),
  );
  await d.reply('This one is refused');
  const failed = page.locator('.messages .msg.failed', { hasText: 'This one is refused' });
  await failed.getByRole('alert').filter({ hasText: 'Reopen it to reply' }).waitFor();
  await failed.getByRole('button', { name: 'Remove' }).click();
  await failed.waitFor({ state: 'detached' });
  await page.unroute('**/api/agent/conversations/*/messages');

  const stored = await parley.agentApi('GET', `/api/agent/conversations/${id}?after=0`);
  assert.deepEqual(stored.json.messages.map((m) => m.message), ['Are you there?', 'Yes, one moment'], 'stored once, the refused one never');
  const shown = (await d.state()).messages.map((m) => m.message);
  assert.deepEqual(shown, ['Are you there?', 'Yes, one moment']);
  assert.deepEqual(page.errors, []);
  await agentContext.close();
});

test('a dropped socket loses nothing and doubles nothing', async () => {
  const agentContext = await newContext(browser);
  const page = await openPage(agentContext);
  const d = dashboard(page);
  await d.signIn();
  await d.live();
  const started = await parley.api('POST', '/api/chatbot/conversation', { body: { visitor_name: 'Sam' } });
  const { id } = started.json.conversation;
  const visitorToken = started.json.visitor_token;
  const say = (message, client_id) => parley.api('POST', `/api/chatbot/conversation/${id}/messages`, { body: { message, client_id }, visitorToken });
  await say('one', 's1');
  await page.goto(parley.dashboardUrl + '#/c/' + id);
  await d.message('one').waitFor();
  await page.waitForFunction(() => window.ParleyDashboard.state.conversationLive);
  await say('two', 's2');
  await d.message('two').waitFor();

  await page.evaluate(() => window.ParleyDashboard.echo.connector.pusher.disconnect());
  await page.waitForFunction(() => !window.ParleyDashboard.state.conversationLive);
  await say('three', 's3');
  await say('four', 's4');
  await page.evaluate(() => window.ParleyDashboard.echo.connector.pusher.connect());
  await page.waitForFunction(() => window.ParleyDashboard.state.conversationLive && window.ParleyDashboard.state.agentsLive);
  await say('five', 's5');
  await d.message('five').waitFor();
  await d.message('four').waitFor();
  const state = await d.state();
  assert.deepEqual(state.messages.map((m) => m.message), ['one', 'two', 'three', 'four', 'five']);
  assert.deepEqual(page.errors, []);
  await agentContext.close();
});

test('a broadcast lost while later ones arrive is recovered when the socket reconnects', async () => {
  // With several nodes a socket can miss events (its node lost the relay from another node) and
  // still get the next; the gap-fill after reconnecting must start below the gap.
  const agentContext = await newContext(browser);
  const page = await openPage(agentContext);
  await dropFrames(page, (m) => m.includes('lost between nodes')); // on every channel, this one only
  const d = dashboard(page);
  await d.signIn();
  await d.live();
  const started = await parley.api('POST', '/api/chatbot/conversation', { body: { visitor_name: 'Gap' } });
  const { id } = started.json.conversation;
  const visitorToken = started.json.visitor_token;
  const say = (message, client_id) => parley.api('POST', `/api/chatbot/conversation/${id}/messages`, { body: { message, client_id }, visitorToken });
  await say('first', 'g1');
  // The catch-up fetch that going live starts could otherwise return "lost" itself.
  const threadFetches = trackFetches(page, `/api/agent/conversations/${id}?`);
  await page.goto(parley.dashboardUrl + '#/c/' + id);
  await d.message('first').waitFor();
  await page.waitForFunction(() => window.ParleyDashboard.state.conversationLive);
  await threadFetches.settled();
  await say('lost between nodes', 'g2');
  await say('delivered after it', 'g3');
  await d.message('delivered after it').waitFor();
  assert.equal(await d.message('lost between nodes').count(), 0, 'not delivered live');

  await page.evaluate(() => window.ParleyDashboard.echo.connector.pusher.disconnect());
  await page.waitForFunction(() => !window.ParleyDashboard.state.conversationLive);
  await page.evaluate(() => window.ParleyDashboard.echo.connector.pusher.connect());
  await d.message('lost between nodes').waitFor();
  const state = await d.state();
  assert.deepEqual(state.messages.map((m) => m.message), ['first', 'lost between nodes', 'delivered after it']);
  assert.deepEqual(page.errors, []);
  await agentContext.close();
});

test('attachments: an image is previewed, another file is a link; the visitor\'s details show', async () => {
  const started = await parley.api('POST', '/api/chatbot/conversation', {
    body: { visitor_name: 'Pia', visitor_email: 'pia@example.com', page_url: 'https://shop.example/cart?step=2' },
  });
  const { id } = started.json.conversation;
  const upload = async (name, type, bytes, client_id) => {
    const form = new FormData();
    form.append('client_id', client_id);
    form.append('attachment', new Blob([bytes], { type }), name);
    const res = await fetch(`${parley.baseUrl}/api/chatbot/conversation/${id}/messages`, {
      method: 'POST',
      headers: { Authorization: 'Bearer ' + parley.token, 'X-Visitor-Token': started.json.visitor_token },
      body: form,
    });
    assert.equal(res.status, 201, await res.text());
  };
  await upload('photo.png', 'image/png', png(64), 'a1');
  await upload('notes.txt', 'text/plain', Buffer.from('order 1234\n'), 'a2');

  const agentContext = await newContext(browser);
  const page = await openPage(agentContext);
  const d = dashboard(page);
  await d.signIn();
  await d.live();
  await page.goto(parley.dashboardUrl + '#/c/' + id);
  const img = page.locator('.messages .msg.visitor img[alt="photo.png"]');
  await img.waitFor();
  await page.waitForFunction(() => document.querySelector('.messages img[alt="photo.png"]')?.naturalWidth === 64);
  assert.ok((await img.getAttribute('src')).startsWith(parley.baseUrl + '/api/chatbot/attachments/'), 'a signed link on the server');
  const file = page.locator('.messages .msg.visitor a.file', { hasText: 'notes.txt' });
  await file.waitFor();
  assert.equal((await fetch(await file.getAttribute('href'))).status, 200);
  // Opened by its link: the inbox shows the tab it is in.
  assert.equal(await d.tab('Bot').getAttribute('aria-selected'), 'true');
  await d.row('Pia').filter({ hasText: 'notes.txt' }).waitFor();

  const details = page.locator('.details');
  await details.locator('a[href="mailto:pia@example.com"]').waitFor();
  const pageLink = details.locator('a.url');
  assert.equal(await pageLink.getAttribute('href'), 'https://shop.example/cart?step=2');
  assert.equal(await pageLink.textContent(), 'shop.example/cart');
  assert.match(await details.textContent(), /node/i, 'the user agent (Node\'s fetch here)');
  await shot(page, 'attachments');
  assert.deepEqual(page.errors, []);
  await agentContext.close();
});

test('an agent sends an image with a caption: pending with preview and progress, Retry after a lost upload, then live on the visitor\'s widget', async () => {
  const agentContext = await newContext(browser);
  const page = await openPage(agentContext);
  const d = dashboard(page);
  await d.signIn();
  await d.live();
  const v = await visitor({ name: 'Noor' }, 'Where do I find the export button?');
  await page.goto(parley.dashboardUrl + '#/c/' + v.conversationId);
  await d.message('Where do I find the export button?').waitFor();
  await page.waitForFunction(() => window.ParleyDashboard.state.conversationLive);

  // The first upload is held (to see it pending), then lost; the second goes through.
  let attempts = 0;
  let release;
  const held = new Promise((r) => (release = r));
  await page.route('**/api/agent/conversations/*/messages', async (route) => {
    if (++attempts > 1) return route.continue();
    await held;
    await route.abort('connectionreset');
  });
  const caption = 'It is here, top right';
  await page.locator('#pd-reply').fill(caption);
  const [chooser] = await Promise.all([page.waitForEvent('filechooser'), page.getByRole('button', { name: 'Attach a file' }).click()]);
  await chooser.setFiles({ name: 'where.png', mimeType: 'image/png', buffer: png(48, [220, 38, 38]) });
  assert.equal(await page.locator('#pd-reply').inputValue(), '', 'the caption left the box with the file');

  const pending = page.locator('.messages .msg.pending', { hasText: caption });
  await pending.getByRole('progressbar', { name: 'Uploading where.png' }).waitFor();
  await pending.locator('.bubble', { hasText: 'where.png' }).waitFor();
  const preview = pending.locator('.bubble img');
  const blobUrl = await preview.getAttribute('src');
  assert.match(blobUrl, /^blob:/, 'a local preview before the upload');
  await page.waitForFunction((el) => el.naturalWidth === 48, await preview.elementHandle());
  release();
  const failed = page.locator('.messages .msg.failed', { hasText: caption });
  await failed.getByRole('alert').waitFor();
  assert.equal(await failed.getByRole('button', { name: 'Remove' }).count(), 1);
  await failed.getByRole('button', { name: 'Retry' }).click();

  // Stored: the server's signed link replaces the preview, whose object URL is revoked.
  const stored = d.message(caption);
  const img = stored.locator('img[alt="where.png"]');
  await img.waitFor();
  assert.ok((await img.getAttribute('src')).startsWith(parley.baseUrl + '/api/chatbot/attachments/'));
  await page.waitForFunction(() => document.querySelector('.messages img[alt="where.png"]')?.naturalWidth === 48);
  const revoked = await page.evaluate((u) => fetch(u).then(() => false, () => true), blobUrl);
  assert.equal(revoked, true, 'the object URL was revoked');
  assert.equal(attempts, 2);

  // The visitor sees the image and the caption from the agent, live.
  const onWidget = v.page.locator('#parley-chatbot-widget .list .msg.agent:not(.pending)', { hasText: caption });
  const widgetImg = onWidget.locator('.bubble img[alt="where.png"]');
  await widgetImg.waitFor({ timeout: 15000 });
  await v.page.waitForFunction((el) => el.complete && el.naturalWidth === 48, await widgetImg.elementHandle());
  assert.equal(await onWidget.locator('.meta b').textContent(), 'Demo Agent');
  assert.ok(v.page.logs.includes('✓ New message received via reverb: ' + caption), 'it came over the socket');

  // Once each, on both sides and on the server.
  const state = await d.state();
  assert.equal(state.messages.filter((m) => m.attachment_name === 'where.png').length, 1);
  assert.ok(state.messages.every((m) => !m.pending && m.id != null), 'nothing left pending');
  assert.equal((await v.w.state()).messages.filter((m) => m.text === caption).length, 1);
  const server = await parley.agentApi('GET', `/api/agent/conversations/${v.conversationId}?after=0`);
  const sent = server.json.messages.filter((m) => m.sender_type === 'agent');
  assert.deepEqual(sent.map((m) => [m.message, m.attachment_name]), [[caption, 'where.png']]);
  await shot(page, 'file-reply');
  await page.unroute('**/api/agent/conversations/*/messages');
  assert.deepEqual(page.errors, []);
  assert.deepEqual(v.page.errors, []);
  await v.context.close();
  await agentContext.close();
});

test('files the server refuses or that are too large show why, with Remove only; nothing reaches the visitor', async () => {
  const agentContext = await newContext(browser);
  const page = await openPage(agentContext);
  const d = dashboard(page);
  await d.signIn();
  await d.live();
  const v = await visitor({ name: 'Mallory' }, 'Here is my question');
  await page.goto(parley.dashboardUrl + '#/c/' + v.conversationId);
  await d.message('Here is my question').waitFor();
  const uploads = [];
  page.on('request', (r) => r.method() === 'POST' && /\/messages$/.test(r.url()) && uploads.push(r.url()));

  // A Windows executable named x.png, dropped on the conversation pane: the server sniffs it.
  const exe = [...Buffer.from('MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00This program cannot be run in DOS mode.', 'latin1')];
  await page.evaluate((bytes) => {
    const dt = new DataTransfer();
    dt.items.add(new File([new Uint8Array(bytes)], 'x.png', { type: 'image/png' }));
    const pane = document.querySelector('.conversation .pane');
    for (const type of ['dragenter', 'dragover', 'drop']) pane.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
  }, exe);
  const refused = page.locator('.messages .msg.failed').filter({ has: page.locator('.bubble', { hasText: 'x.png' }) });
  await refused.getByRole('alert').filter({ hasText: 'x.png is not a kind of file that can be sent.' }).waitFor();
  assert.equal(await refused.getByRole('button', { name: 'Retry' }).count(), 0, 'no retry for a refused file');
  assert.equal(uploads.length, 1);

  // Pasted into the reply box, a file over the limit is stopped here, before any upload.
  await page.evaluate(() => {
    const dt = new DataTransfer();
    dt.items.add(new File([new Uint8Array(11 * 1024 * 1024)], 'huge.pdf', { type: 'application/pdf' }));
    document.querySelector('#pd-reply').dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }));
  });
  const tooBig = page.locator('.messages .msg.failed').filter({ has: page.locator('.bubble', { hasText: 'huge.pdf' }) });
  await tooBig.getByRole('alert').filter({ hasText: 'huge.pdf is too large (max 10 MB).' }).waitFor();
  assert.equal(await tooBig.getByRole('button', { name: 'Retry' }).count(), 0);
  await shot(page, 'file-refused');
  assert.equal(uploads.length, 1, 'the big one was never sent');

  await refused.getByRole('button', { name: 'Remove' }).click();
  await tooBig.getByRole('button', { name: 'Remove' }).click();
  await page.locator('.messages .msg.failed').first().waitFor({ state: 'detached' });

  // A later reply reaches the visitor; nothing before it did.
  await d.reply('Please send a screenshot instead');
  await v.w.waitForMessage('Please send a screenshot instead');
  const fromAgent = (await v.w.state()).messages.filter((m) => m.sender_type === 'agent');
  assert.deepEqual(fromAgent.map((m) => m.text), ['Please send a screenshot instead']);
  assert.equal(await v.page.locator('#parley-chatbot-widget .list img').count(), 0);
  const server = await parley.agentApi('GET', `/api/agent/conversations/${v.conversationId}?after=0`);
  assert.deepEqual(server.json.messages.filter((m) => m.attachment_name).map((m) => m.attachment_name), [], 'nothing stored');
  assert.deepEqual((await d.state()).messages.map((m) => m.message), ['Here is my question', 'Please send a screenshot instead']);
  assert.deepEqual(page.errors, []);
  await v.context.close();
  await agentContext.close();
});

test('a second agent appears in the team list, goes online and offline live, and leaves when revoked', async () => {
  const created = JSON.parse(await parley.cli(['agent', 'create', '--name', 'Grace Hopper', '--email', 'grace@example.com', '--json']));
  const agentContext = await newContext(browser);
  const page = await openPage(agentContext);
  const d = dashboard(page);
  await d.signIn();
  await d.live();
  const grace = d.team('Grace Hopper');
  await grace.filter({ hasText: 'Offline' }).waitFor();
  await parley.agentApi('PUT', '/api/agent/availability', { body: { availability: 'online' }, agentToken: created.token });
  await grace.filter({ hasText: 'Online' }).waitFor();
  await page.locator('.team .count', { hasText: /\d+ online/ }).waitFor();
  await parley.agentApi('PUT', '/api/agent/availability', { body: { availability: 'away' }, agentToken: created.token });
  await grace.filter({ hasText: 'Away' }).waitFor();
  await shot(page, 'team');

  // Grace has her own dashboard open too.
  const graceContext = await newContext(browser);
  const gracePage = await openPage(graceContext);
  const graceDashboard = dashboard(gracePage);
  await graceDashboard.signIn(created.token);
  await graceDashboard.live();

  // Revoked from the command line (another process): her token stops working at once, the
  // server's next look at the team takes her off the list, and it closes her dashboard's socket,
  // whose fallback polling is refused, so she is signed out within seconds rather than at her
  // next heartbeat (25 s).
  await parley.cli(['agent', 'revoke', String(created.id)]);
  const refused = await parley.agentApi('GET', '/api/agent/me', { agentToken: created.token });
  assert.equal(refused.status, 401);
  await grace.waitFor({ state: 'detached' });
  await gracePage.getByText('The server no longer accepts your token').waitFor({ timeout: 15000 });
  await gracePage.getByLabel('Agent token').waitFor();
  assert.deepEqual(gracePage.errors, []);
  await graceContext.close();
  const listed = JSON.parse(await parley.cli(['agent', 'list', '--json']));
  assert.ok(listed.find((a) => a.id === created.id).revoked_at, 'listed as revoked');
  assert.deepEqual(page.errors, []);
  await agentContext.close();
});

test('an agent reacts to a visitor\'s message; the visitor sees it live, and it can be taken back', async () => {
  const agentContext = await newContext(browser);
  const page = await openPage(agentContext);
  const d = dashboard(page);
  await d.signIn();
  await d.live();
  const v = await visitor({ name: 'Rita Reacts' }, 'Thanks, that solved it');
  await d.tab('Bot').click();
  await d.row('Rita Reacts').click();
  const msg = d.message('Thanks, that solved it');
  await msg.waitFor();

  await msg.hover();
  await msg.locator('.addreact').click();
  await msg.locator('.picker button', { hasText: '👍' }).click();
  const chip = msg.locator('.chip', { hasText: '👍 1' });
  await chip.waitFor();
  assert.equal(await chip.getAttribute('aria-pressed'), 'true', 'the agent\'s own reaction');
  const onWidget = v.w.message('Thanks, that solved it').locator('.chip', { hasText: '👍 1' });
  await onWidget.waitFor();
  assert.equal(await onWidget.getAttribute('aria-pressed'), 'false', 'not the visitor\'s');
  await shot(page, 'reaction');

  await chip.click();
  await msg.locator('.chip').waitFor({ state: 'detached' });
  await v.w.message('Thanks, that solved it').locator('.chip').waitFor({ state: 'detached' });
  const stored = await parley.agentApi('GET', `/api/agent/conversations/${v.conversationId}?after=0`);
  assert.deepEqual(stored.json.reactions, []);
  assert.deepEqual(page.errors, []);
  assert.deepEqual(v.page.errors, []);
  await v.context.close();
  await agentContext.close();
});

test('saved replies: kept in the side panel, inserted by typing / and the shortcut, then sent', async () => {
  const agentContext = await newContext(browser);
  const page = await openPage(agentContext);
  const d = dashboard(page);
  await d.signIn();
  await d.live();
  const panel = page.locator('section.saved');
  await panel.getByLabel('Shortcut').fill('thanks');
  await panel.getByLabel('Reply text').fill('Thank you for waiting — I am on it.');
  await panel.getByRole('button', { name: 'Save reply' }).click();
  await panel.locator('.saved-reply', { hasText: '/thanks' }).waitFor();
  // The same shortcut again is refused, and the form says why.
  await panel.getByLabel('Shortcut').fill('thanks');
  await panel.getByLabel('Reply text').fill('Another text');
  await panel.getByRole('button', { name: 'Save reply' }).click();
  await panel.getByRole('alert').filter({ hasText: /already exists/ }).waitFor();
  assert.equal(await panel.locator('.saved-reply').count(), 1);

  const v = await visitor({ name: 'Sara Saved' }, 'Hello? Anyone?');
  await d.tab('Bot').click();
  await d.row('Sara Saved').click();
  const box = page.locator('#pd-reply');
  await box.fill('/tha');
  const option = page.getByRole('option', { name: /\/thanks/ });
  await option.waitFor();
  assert.equal(await option.getAttribute('aria-selected'), 'true');
  await box.press('Enter');
  assert.equal(await box.inputValue(), 'Thank you for waiting — I am on it.');
  await page.locator('#pd-saved-picker').waitFor({ state: 'hidden' });
  await shot(page, 'saved-reply');
  await box.press('Enter');
  await v.w.waitForMessage('Thank you for waiting — I am on it.');

  // No match, no list; Escape closes a list without sending.
  await box.fill('/nothing-like-it');
  assert.equal(await page.locator('#pd-saved-picker').isHidden(), true);
  await box.fill('/t');
  await option.waitFor();
  await box.press('Escape');
  await page.locator('#pd-saved-picker').waitFor({ state: 'hidden' });
  assert.equal(await box.inputValue(), '/t');

  await panel.getByRole('button', { name: 'Delete /thanks' }).click();
  await panel.locator('.saved-reply').waitFor({ state: 'detached' });
  const listed = await parley.agentApi('GET', '/api/agent/saved-replies');
  assert.deepEqual(listed.json.saved_replies, []);
  assert.deepEqual(page.errors, []);
  await v.context.close();
  await agentContext.close();
});

test('the search field finds conversations by visitor name or message text, in any tab', async () => {
  const start = async (name, message) => {
    const started = await parley.api('POST', '/api/chatbot/conversation', { body: { visitor_name: name } });
    const { id } = started.json.conversation;
    const sent = await parley.api('POST', `/api/chatbot/conversation/${id}/messages`, { body: { message, client_id: 's1' }, visitorToken: started.json.visitor_token });
    assert.equal(sent.status, 201, sent.text);
    return id;
  };
  await start('Searchable Sam', 'My parcel never arrived');
  await start('Other Olga', 'Do you ship abroad?');
  const agentContext = await newContext(browser);
  const page = await openPage(agentContext);
  const d = dashboard(page);
  await d.signIn();
  await d.live();
  const search = page.getByRole('searchbox', { name: 'Search conversations' });

  await search.fill('PARCEL');
  await d.row('Searchable Sam').waitFor();
  await page.waitForFunction(() => !document.querySelector('.convs')?.textContent.includes('Other Olga'));
  assert.equal(await page.locator('.convs .conv').count(), 1);
  assert.equal(await page.getByRole('tablist').isHidden(), true, 'the tabs make way for the results');
  await shot(page, 'search');

  await search.fill('olga');
  await d.row('Other Olga').waitFor();
  await page.waitForFunction(() => !document.querySelector('.convs')?.textContent.includes('Searchable Sam'));

  await search.fill('<b>nothing like this</b>');
  await page.locator('.tabpanel .empty', { hasText: 'No conversations match “<b>nothing like this</b>”.' }).waitFor();
  assert.equal(await page.locator('.tabpanel .empty b').count(), 0, 'the search text is shown as text');

  await search.press('Escape');
  await page.getByRole('tablist').waitFor();
  assert.equal(await search.inputValue(), '');
  assert.deepEqual(page.errors, []);
  await agentContext.close();
});

test('a conversation newly waiting for a human flashes the hidden tab\'s title and lists in Waiting', async () => {
  const agentContext = await newContext(browser);
  const page = await openPage(agentContext);
  const d = dashboard(page);
  await d.signIn();
  await d.live();
  await page.waitForFunction(() => /Parley inbox/.test(document.title));
  // Only a conversation that starts waiting after the first listing is news to be flashed.
  await page.waitForFunction(() => window.ParleyDashboard.state.inboxLoaded === true);
  // The tab goes to the background.
  await page.evaluate(() => {
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => true });
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'hidden' });
    document.dispatchEvent(new Event('visibilitychange'));
  });

  const started = await parley.api('POST', '/api/chatbot/conversation', { body: { visitor_name: 'Grace' } });
  const { id } = started.json.conversation;
  const visitorToken = started.json.visitor_token;
  await parley.api('POST', `/api/chatbot/conversation/${id}/messages`, { body: { message: 'I want to talk to a person', client_id: 'w1' }, visitorToken });
  // Handed to the team, unassigned: as the bot does on a handoff.
  const assigned = await parley.agentApi('POST', `/api/agent/conversations/${id}/assign`, { body: { agent_id: null } });
  assert.equal(assigned.status, 200, assigned.text);

  await page.waitForFunction(() => document.title.includes('Grace needs an agent'), null, { timeout: 10000 });
  await d.tab('Waiting').click();
  await d.row('Grace').filter({ hasText: 'I want to talk to a person' }).waitFor();
  assert.match(await d.tab('Waiting').textContent(), /1/);

  // Back to the tab: the title stops flashing and shows the count.
  await page.evaluate(() => {
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => false });
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'visible' });
    document.dispatchEvent(new Event('visibilitychange'));
  });
  await page.waitForFunction(() => /^\(\d+\) Parley inbox$/.test(document.title));
  await d.row('Grace').click();
  await page.getByRole('button', { name: 'Assign to me' }).click();
  await page.locator('.details dd', { hasText: 'Demo Agent' }).waitFor();
  await d.tab('Mine').click();
  await d.row('Grace').waitFor();
  assert.deepEqual(page.errors, []);
  await agentContext.close();
});

test('HTML from a visitor is shown as text in the dashboard and never runs', async () => {
  const agentContext = await newContext(browser);
  const page = await openPage(agentContext);
  const d = dashboard(page);
  await d.signIn();
  await d.live();
  await d.tab('Bot').click();

  const v = await visitor({ name: XSS, email: 'x@example.com' }, XSS);
  await v.w.send('<script>window.__xss=2</script> javascript:alert(1) see https://example.com/a?b=1.');
  await v.w.waitForMessage('see https://example.com');
  const row = page.locator('.convs .conv', { hasText: XSS });
  await row.waitFor();
  await row.click();
  await d.message(XSS).waitFor();
  await d.message('see https://example.com').waitFor();

  assert.equal(await row.locator('.name').textContent(), XSS, 'the name, as text');
  assert.equal(await page.locator('#pd-conv-title').textContent(), XSS);
  assert.equal(await d.message(XSS).locator('.bubble').textContent(), XSS);
  assert.equal(await page.locator('.details dd', { hasText: XSS }).count(), 1);
  assert.equal(await page.locator('.app img').count(), 0, 'no element was made from it');
  const second = d.message('see https://example.com').locator('.bubble');
  assert.equal(await second.locator('script').count(), 0);
  const links = second.locator('a');
  assert.equal(await links.count(), 1, 'only the https URL is a link');
  assert.equal(await links.getAttribute('href'), 'https://example.com/a?b=1');
  assert.equal(await links.getAttribute('rel'), 'noopener noreferrer nofollow');
  assert.equal(await page.evaluate(() => window.__xss), undefined);
  await shot(page, 'xss-as-text');
  assert.deepEqual(page.errors, []);
  await v.context.close();
  await agentContext.close();
});

test('a refused token shows an error and loads nothing else', async () => {
  const context = await newContext(browser);
  const requests = [];
  const sockets = [];
  context.on('request', (r) => requests.push(new URL(r.url()).pathname));
  context.on('websocket', (ws) => sockets.push(ws.url()));
  const page = await openPage(context);
  const d = dashboard(page);
  await d.signIn('cba_this_is_not_a_token');
  await page.getByRole('alert').filter({ hasText: 'This token was not accepted' }).waitFor();
  assert.equal(await page.getByLabel('Agent token').getAttribute('aria-invalid'), 'true');
  assert.equal(await page.locator('.app').count(), 0, 'no inbox');
  assert.deepEqual(sockets, [], 'no socket');
  // On load the page asks whether a session cookie signs it in (no) and whether anyone has a
  // password yet (no: so the token form shows first), then the token is checked.
  assert.deepEqual(requests.filter((p) => p.startsWith('/api/')), ['/api/auth/session', '/api/auth/setup', '/api/agent/me'], 'only the checks');
  assert.equal(await page.evaluate(() => localStorage.getItem('parley-dashboard:token')), null, 'not kept');
  await shot(page, 'bad-token');

  // The page's own headers: no framing, no inline script.
  const res = await fetch(parley.dashboardUrl);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-security-policy') || '', /script-src 'self'/);
  assert.equal(res.headers.get('x-frame-options'), 'DENY');
  assert.deepEqual(page.errors, []);
  await context.close();
});

test('signing out sets the agent offline and returns to the form; the token is forgotten', async () => {
  const context = await newContext(browser);
  const page = await openPage(context);
  const d = dashboard(page);
  await d.signIn();
  await d.live();
  await d.availability('Online').check();
  await until(async () => (await serverAgent()).online, 'the server to count the agent online');
  await page.reload();
  await d.live();
  await page.waitForFunction(() => window.ParleyDashboard.state.agent.availability === 'online');
  assert.equal(await d.availability('Online').isChecked(), true, 'a reload keeps the agent online');
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByLabel('Agent token').waitFor();
  assert.equal(await page.evaluate(() => localStorage.getItem('parley-dashboard:token')), null);
  assert.equal((await serverAgent()).availability, 'offline', 'signing out waits for "offline" to be stored');
  assert.deepEqual(page.errors, []);
  await context.close();
});

test('without a socket the dashboard polls: messages still arrive both ways', async () => {
  // A server that tells browsers to use a port nothing listens on.
  const server = await startParley({ agent: true, env: { REVERB_PORT: String(await closedPort()) } });
  try {
    const agentContext = await newContext(browser);
    const page = await openPage(agentContext);
    const d = dashboard(page, server);
    await d.signIn(server.agentToken);
    await page.locator('.agent-name', { hasText: 'Demo Agent' }).waitFor();
    await d.tab('Bot').click();

    const started = await server.api('POST', '/api/chatbot/conversation', { body: { visitor_name: 'Polly' } });
    const { id } = started.json.conversation;
    const visitorToken = started.json.visitor_token;
    await server.api('POST', `/api/chatbot/conversation/${id}/messages`, { body: { message: 'Hello by polling', client_id: 'p1' }, visitorToken });
    await d.row('Polly').filter({ hasText: 'Hello by polling' }).waitFor({ timeout: 15000 });
    await d.row('Polly').click();
    await d.message('Hello by polling').waitFor();
    await d.reply('Polled reply');
    await d.message('Polled reply').waitFor();
    await server.api('POST', `/api/chatbot/conversation/${id}/messages`, { body: { message: 'Second by polling', client_id: 'p2' }, visitorToken });
    await d.message('Second by polling').waitFor({ timeout: 15000 });
    const state = await d.state();
    assert.equal(state.agentsLive, false, 'no socket was had');
    assert.deepEqual(state.messages.map((m) => m.message), ['Hello by polling', 'Polled reply', 'Second by polling']);
    const seen = await server.api('GET', `/api/chatbot/conversation/${id}?after=0`, { visitorToken });
    assert.deepEqual(seen.json.messages.map((m) => m.message), ['Hello by polling', 'Polled reply', 'Second by polling'], 'stored once each');
    await agentContext.close();
  } finally {
    await server.stop();
  }
});

test('the visitor\'s rating shows in the conversation\'s details, live and after a reload', async () => {
  const agentContext = await newContext(browser);
  const page = await openPage(agentContext);
  const d = dashboard(page);
  await d.signIn();
  await d.live();
  const started = await parley.api('POST', '/api/chatbot/conversation', { body: { visitor_name: 'Rita' } });
  const { id } = started.json.conversation;
  const visitorToken = started.json.visitor_token;
  await parley.api('POST', `/api/chatbot/conversation/${id}/messages`, { body: { message: 'Thanks for the help', client_id: 'rt1' }, visitorToken });
  await page.goto(parley.dashboardUrl + '#/c/' + id);
  await d.message('Thanks for the help').waitFor();
  await page.waitForFunction(() => window.ParleyDashboard.state.conversationLive);
  const rating = page.locator('.details dd .rating');
  assert.equal(await rating.count(), 0, 'not rated yet');
  // A read of the conversation made before the rating is answered only after the rating's event
  // came: it must not take the rating away.
  const isRead = (url) => new URL(url).pathname.endsWith('/conversations/' + id) && new URL(url).searchParams.has('after');
  const { answer: read, release } = await holdNextRequest(page, isRead);
  await page.evaluate(() => document.dispatchEvent(new Event('visibilitychange')));
  assert.equal((await read).rating, null, 'the held read saw no rating');
  const rated = await parley.api('POST', `/api/chatbot/conversation/${id}/rating`, { body: { score: 4, comment: 'Quick <b>and</b> kind' }, visitorToken });
  assert.equal(rated.status, 201);
  // Live, through ConversationRated on the conversation's channel.
  await rating.filter({ hasText: '★★★★☆' }).waitFor();
  await page.evaluate(() => {
    window.ratingGone = false;
    new MutationObserver(() => {
      if (!document.querySelector('.details dd .rating')) window.ratingGone = true;
    }).observe(document.body, { subtree: true, childList: true });
  });
  // Asked for during the held read, the next read is sent only once the held answer was handled.
  const next = page.waitForRequest((req) => isRead(req.url()));
  await page.evaluate(() => document.dispatchEvent(new Event('visibilitychange')));
  release();
  await next;
  assert.equal(await page.evaluate(() => window.ratingGone), false, 'the late answer kept the rating');
  assert.equal(await rating.locator('[role="img"]').getAttribute('aria-label'), '4 of 5');
  assert.equal(await rating.locator('q').textContent(), 'Quick <b>and</b> kind', 'the comment is text');
  await shot(page, 'rating-details');
  await page.reload();
  await page.locator('.details dd .rating', { hasText: '★★★★☆' }).waitFor();
  assert.deepEqual(page.errors, []);
  await agentContext.close();
});

test('a read of the team answered late does not undo a newer availability event', async () => {
  const created = JSON.parse(await parley.cli(['agent', 'create', '--name', 'Ada Lovelace', '--email', 'ada@example.com', '--json']));
  const setAda = (availability) => parley.agentApi('PUT', '/api/agent/availability', { body: { availability }, agentToken: created.token });
  const agentContext = await newContext(browser);
  const page = await openPage(agentContext);
  const d = dashboard(page);
  await d.signIn();
  await d.live();
  const ada = d.team('Ada Lovelace');
  await setAda('online');
  await ada.filter({ hasText: 'Online' }).waitFor();

  // The team is read (after the agent's own change) while Ada is online, and the answer reaches
  // the dashboard only after she went away and the event saying so did.
  const isTeamRead = (url) => new URL(url).pathname === '/api/agent/agents';
  const { answer: read, release } = await holdNextRequest(page, isTeamRead);
  await d.availability('Away').check();
  const stale = await read;
  assert.equal(stale.agents.find((a) => a.id === created.id)?.online, true, 'the held read saw Ada online');
  await setAda('away');
  await ada.filter({ hasText: 'Away' }).waitFor();
  // From here on Ada's row must never say "Online" again.
  await page.evaluate(() => {
    window.adaShownOnline = false;
    const look = () => {
      const row = [...document.querySelectorAll('.team-list .agent')].find((el) => el.textContent.includes('Ada Lovelace'));
      if (row && /Online/.test(row.textContent)) window.adaShownOnline = true;
    };
    new MutationObserver(look).observe(document.body, { subtree: true, childList: true, characterData: true });
  });

  // The late answer is dropped for the event, and the team read once more.
  const reread = page.waitForRequest((req) => isTeamRead(req.url()));
  release();
  const fresh = await (await (await reread).response()).json();
  assert.equal(fresh.agents.find((a) => a.id === created.id)?.availability, 'away');
  await ada.filter({ hasText: 'Away' }).waitFor();
  assert.equal(await page.evaluate(() => window.adaShownOnline), false, 'the late answer was not shown');
  assert.deepEqual(page.errors, []);
  await agentContext.close();
  await parley.cli(['agent', 'revoke', String(created.id)]);
});
