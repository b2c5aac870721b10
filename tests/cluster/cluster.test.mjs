// `parley serve` on two and three nodes sharing PostgreSQL and Redis, with real processes and
// Chromium. The visitor's widget is on node A, the agent's dashboard on node B, an admin acts on
// node C; what one node does reaches the browsers of another:
//
//  two nodes:   chat both ways (delivered over each browser's own node's socket), the agent's
//               availability, typing both ways, read receipts both ways; a rate limit of N per
//               minute spread over both nodes refuses the (N+1)th request on either.
//  three nodes: bot jobs posted across the nodes each run once (the store says so); chat between
//               A and B; the admin on C disables the agent (the dashboard's sockets on B close
//               with 4009 and it signs out) and revokes the widget (the visitor's socket on A
//               closes with 4009).
//
// Skipped, saying why, when PostgreSQL or Redis cannot be reached.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { SCREENSHOTS, launch, newContext, openPage, session, signInWithToken, widget } from '../../web/tests/lib/browser.mjs';
import { startPages } from '../../web/tests/lib/pages.mjs';
import { signInWithPassword, startCluster, unavailable, until } from './lib/cluster.mjs';
import { channelSocket, eventsOver, recordSockets, socketsTo } from './lib/sockets.mjs';

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const connected = () => window.ChatbotWidget?.state?.realtimeConnected === true;

let browser;
let why;

before(async () => {
  why = await unavailable();
  if (why) {
    console.log(`cluster: skipping: ${why}`);
    return;
  }
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM} (tests/cluster/run.sh installs Debian's; set CHROMIUM_PATH to use another)`);
  browser = await launch();
});

after(async () => {
  await browser?.close();
});

async function shot(page, name) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, 'cluster-' + name + '.png') });
}

/** The dashboard as an agent uses it (the browser suite's selectors). */
function dashboard(page) {
  return {
    availability: (label) => page.getByRole('radio', { name: label, exact: true }),
    tab: (name) => page.getByRole('tab', { name: new RegExp('^' + name) }),
    row: (text) => page.locator('.convs .conv', { hasText: text }),
    message: (text) => page.locator('.messages .msg:not(.pending)').filter({ has: page.locator('.bubble', { hasText: text }) }),
    typing: page.locator('.conversation .typing'),
    reply: page.locator('#pd-reply'),
    state: () => page.evaluate(() => window.ParleyDashboard.state),
  };
}

/** An agent's dashboard on `node`, signed in with `token`, its sockets recorded. */
async function openDashboard(node, token) {
  const context = await newContext(browser);
  try {
    await recordSockets(context);
    const page = await openPage(context);
    await signInWithToken(page, { dashboardUrl: node.dashboardUrl }, token);
    return { context, page, d: dashboard(page) };
  } catch (error) {
    await close({ context });
    throw error;
  }
}

/**
 * A visitor on a page of another origin whose widget talks to `node` (with `token`, the demo
 * widget's by default), who has said `first` and is subscribed to the conversation.
 */
async function openVisitor(node, name, first, token = node.token) {
  const pages = await startPages({ token, baseUrl: node.baseUrl });
  const context = await newContext(browser);
  try {
    await recordSockets(context);
    const page = await openPage(context, pages.page({ visitorName: name, visitorEmail: null }));
    const w = widget(page);
    await w.open();
    await w.send(first);
    await w.waitForMessage(first);
    await w.waitForState(connected);
    const state = await w.state();
    return { pages, context, page, w, conversationId: state.conversationId };
  } catch (error) {
    await close({ pages, context });
    throw error;
  }
}

async function close(...parties) {
  for (const p of parties) {
    await p?.context?.close().catch(() => {});
    await p?.pages?.stop().catch(() => {});
  }
}

/** The message texts a page's socket to `node` received as ChatMessageReceived. */
async function messagesOver(page, node) {
  // The event's data is the message ({id, message: its text, …}).
  return (await eventsOver(page, node, 'ChatMessageReceived')).map((e) => e.data?.message);
}

describe('two nodes', () => {
  let cluster;
  let A;
  let B;

  before(async () => {
    if (why) return;
    // A limit small enough to reach: new conversations per widget per minute.
    cluster = await startCluster({ name: 'two', count: 2, env: { PARLEY_RATE_CONVERSATIONS_PER_WIDGET: '6' } });
    [A, B] = cluster.nodes;
  });
  after(async () => {
    await cluster?.stop();
  });

  test('a visitor on node A and an agent on node B: availability, chat both ways, typing and read receipts, live', async (t) => {
    if (why) return t.skip(why);
    const agent = JSON.parse(await cluster.cli(['agent', 'create', '--name', 'Bea Node-B', '--email', 'bea@example.com', '--json']));
    const agentSide = await openDashboard(B, agent.token);
    t.after(() => close(agentSide));
    const { page, d } = agentSide;
    await d.availability('Offline').waitFor();

    const visitor = await openVisitor(A, 'Ada Node-A', 'Hello from node A');
    t.after(() => close(visitor));
    const { w } = visitor;
    const widgetState = await w.state();
    assert.equal(widgetState.realtimeProvider, 'reverb', 'the widget is on the socket, not polling');
    assert.equal((await socketsTo(visitor.page, A)).length >= 1, true, 'the widget\'s socket is on node A');
    assert.equal((await socketsTo(visitor.page, B)).length, 0, 'and not on node B');
    assert.equal((await socketsTo(page, B)).length >= 1, true, 'the dashboard\'s socket is on node B');
    assert.equal((await socketsTo(page, A)).length, 0, 'and not on node A');

    // Availability: the agent goes online, away and online on B; the widget on A follows.
    const status = visitor.page.locator('#parley-chatbot-widget .head .status');
    const agentsOnline = () => visitor.page.evaluate(() => window.ChatbotWidget.state.agentsOnline);
    assert.notEqual(await agentsOnline(), true);
    await d.availability('Online').check();
    await visitor.page.waitForFunction(() => window.ChatbotWidget.state.agentsOnline === true, null, { timeout: 20000 });
    await status.filter({ hasText: 'We are online' }).waitFor();
    await d.availability('Away').check();
    await visitor.page.waitForFunction(() => window.ChatbotWidget.state.agentsOnline === false, null, { timeout: 20000 });
    await status.locator('.dot.on').waitFor({ state: 'detached' });
    await d.availability('Online').check();
    await visitor.page.waitForFunction(() => window.ChatbotWidget.state.agentsOnline === true, null, { timeout: 20000 });
    const availability = (await eventsOver(visitor.page, A, 'AgentAvailability')).map((e) => e.data.agents_online);
    assert.deepEqual(availability.filter((v, i) => v !== availability[i - 1]), [true, false, true], 'each change came over node A\'s socket');

    // The agent opens the conversation on B: the visitor's message is there, and "Seen" reaches A.
    await d.tab('Bot').click();
    await d.row('Ada Node-A').click();
    await d.message('Hello from node A').waitFor();
    await page.waitForFunction((id) => window.ParleyDashboard.state.conversationLive && window.ParleyDashboard.state.conversationId === id, visitor.conversationId);
    await w.message('Hello from node A').locator('.seen').waitFor();
    assert.ok((await eventsOver(visitor.page, A, 'MessageRead')).some((e) => e.data.reader === 'agent'), 'the read receipt came over node A\'s socket');

    // Typing, both ways.
    await w.input.pressSequentially('Wait');
    await d.typing.filter({ hasText: 'Ada Node-A is typing' }).waitFor();
    await w.input.fill('');
    await d.reply.pressSequentially('Let me');
    await visitor.page.locator('#parley-chatbot-widget .typing', { hasText: 'Bea Node-B is typing' }).waitFor();
    await d.reply.fill('');
    assert.ok((await eventsOver(page, B, 'client-typing')).length >= 1, 'the visitor\'s typing came over node B\'s socket');
    assert.ok((await eventsOver(visitor.page, A, 'client-typing')).length >= 1, 'the agent\'s typing came over node A\'s socket');

    // The agent replies on B: the widget on A shows it, delivered over A's socket.
    await d.reply.fill('Hello from node B');
    await d.reply.press('Enter');
    await w.waitForMessage('Hello from node B');
    assert.equal((await messagesOver(visitor.page, A)).filter((x) => x === 'Hello from node B').length, 1, 'the reply came over node A\'s socket, once');
    assert.ok(visitor.page.logs.includes('✓ New message received via reverb: Hello from node B'), visitor.page.logs.join('\n'));
    // The visitor, reading it, marks it read: "Seen by the visitor" on B.
    await d.message('Hello from node B').locator('.seen').waitFor();
    assert.ok((await eventsOver(page, B, 'MessageRead')).some((e) => e.data.reader === 'visitor'), 'the visitor\'s receipt came over node B\'s socket');

    // The visitor answers on A: the dashboard on B shows it, delivered over B's socket.
    await w.send('Thanks, node B');
    await d.message('Thanks, node B').waitFor();
    await until(async () => (await messagesOver(page, B)).includes('Thanks, node B'), 'the answer on node B\'s socket');
    await w.message('Thanks, node B').locator('.seen').waitFor();

    const texts = (await d.state()).messages.map((m) => m.message);
    for (const text of ['Hello from node A', 'Hello from node B', 'Thanks, node B']) {
      assert.equal(texts.filter((x) => x === text).length, 1, `"${text}" once on the dashboard`);
    }
    const widgetTexts = (await w.state()).messages.map((m) => m.text);
    assert.deepEqual(widgetTexts, ['Hello from node A', 'Hello from node B', 'Thanks, node B'], 'once each, in order, on the widget');
    await shot(visitor.page, 'two-nodes-widget-A');
    await shot(page, 'two-nodes-dashboard-B');
    assert.deepEqual(visitor.page.errors, []);
    assert.deepEqual(page.errors, []);
  });

  test('a limit of 6 new conversations per widget per minute, spread over both nodes, refuses the 7th on either', async (t) => {
    if (why) return t.skip(why);
    // A widget of its own, so the other tests' conversations do not count.
    const created = JSON.parse(await cluster.cli(['widget', 'create', '--name', 'Limited', '--json']));
    const start = (node) =>
      node.call('POST', '/api/chatbot/conversation', { headers: { Authorization: 'Bearer ' + created.token }, body: { visitor_name: 'Limited' } });
    const answers = [];
    for (let i = 0; i < 6; i++) answers.push((await start(i % 2 ? B : A)).status);
    assert.deepEqual(answers, [201, 201, 201, 201, 201, 201], 'three on each node');
    for (const node of [A, B]) {
      const refused = await start(node);
      assert.equal(refused.status, 429, `node ${node.name} refuses the 7th: ${refused.text}`);
      assert.equal(refused.json.error.code, 'rate_limited');
      assert.ok(Number(refused.headers.get('retry-after')) >= 1, 'with Retry-After');
    }
    const [[count]] = await cluster.sql(`SELECT count(*) FROM conversations WHERE widget_id = ${created.id}`);
    assert.equal(Number(count), 6, 'six stored');
  });
});

describe('three nodes', () => {
  let cluster;
  let A;
  let B;
  let C;

  before(async () => {
    if (why) return;
    // Every node runs the bot's worker.
    cluster = await startCluster({ name: 'three', count: 3, env: { PARLEY_BOT_WORKER: 'true' } });
    [A, B, C] = cluster.nodes;
  });
  after(async () => {
    await cluster?.stop();
  });

  test('visitor messages posted across the nodes: every bot job runs once and every reply is stored once', async (t) => {
    if (why) return t.skip(why);
    const tag = randomBytes(3).toString('hex');
    const CONVERSATIONS = 9;
    const PER_CONVERSATION = 3;
    const token = A.token;
    const conversations = [];
    for (let i = 0; i < CONVERSATIONS; i++) {
      const node = cluster.nodes[i % 3];
      const started = await node.call('POST', '/api/chatbot/conversation', { headers: { Authorization: 'Bearer ' + token }, body: { visitor_name: `Bot test ${i}` } });
      assert.equal(started.status, 201, started.text);
      conversations.push({ id: started.json.conversation.id, visitorToken: started.json.visitor_token });
    }
    // Every conversation's messages go to the nodes in turn, all conversations at once.
    await Promise.all(
      conversations.map(async (c, i) => {
        for (let j = 0; j < PER_CONVERSATION; j++) {
          const node = cluster.nodes[(i + j) % 3];
          const posted = await node.call('POST', `/api/chatbot/conversation/${c.id}/messages`, {
            headers: { Authorization: 'Bearer ' + token, 'X-Visitor-Token': c.visitorToken },
            body: { message: `Do you ship abroad? ${tag} ${i}.${j}`, client_id: `${tag}-${i}-${j}` },
          });
          assert.equal(posted.status, 201, posted.text);
        }
      }),
    );
    const expected = CONVERSATIONS * PER_CONVERSATION;
    const ids = conversations.map((c) => c.id).join(',');
    await until(
      async () => {
        const [[done, all]] = await cluster.sql(`SELECT count(*) FILTER (WHERE state = 'done'), count(*) FROM bot_jobs WHERE conversation_id IN (${ids})`);
        return Number(all) === expected && Number(done) === expected;
      },
      `${expected} bot jobs done`,
      90000,
    );
    const jobs = await cluster.sql(`SELECT message_id, attempts, outcome FROM bot_jobs WHERE conversation_id IN (${ids}) ORDER BY message_id`);
    assert.equal(jobs.length, expected);
    assert.deepEqual(jobs.filter(([, attempts]) => attempts !== '1'), [], 'every job was claimed once');
    // Each visitor message has exactly one bot reply (keyed by its id), and no bot reply is
    // without its visitor message.
    const replies = await cluster.sql(
      `SELECT v.id, count(b.id) FROM messages v
         LEFT JOIN messages b ON b.conversation_id = v.conversation_id AND b.sender_type = 'bot'
                             AND b.client_id IN ('bot-' || v.id, 'bot-unsure-' || v.id)
        WHERE v.conversation_id IN (${ids}) AND v.sender_type = 'visitor'
        GROUP BY v.id ORDER BY v.id`,
    );
    assert.equal(replies.length, expected);
    assert.deepEqual(replies.filter(([, n]) => n !== '1'), [], 'one reply per visitor message');
    const [[keyed]] = await cluster.sql(
      `SELECT count(*) FROM messages WHERE conversation_id IN (${ids}) AND sender_type = 'bot' AND client_id LIKE 'bot-%'`,
    );
    assert.equal(Number(keyed), expected, 'no other keyed bot replies');
    // Each conversation as a visitor reads it, through another node: its turns, once each.
    for (const [i, c] of conversations.entries()) {
      const node = cluster.nodes[(i + 1) % 3];
      const read = await node.call('GET', `/api/chatbot/conversation/${c.id}?after=0`, {
        headers: { Authorization: 'Bearer ' + token, 'X-Visitor-Token': c.visitorToken },
      });
      const visitorTexts = read.json.messages.filter((m) => m.sender_type === 'visitor').map((m) => m.message);
      assert.deepEqual(visitorTexts, [0, 1, 2].map((j) => `Do you ship abroad? ${tag} ${i}.${j}`));
      assert.equal(read.json.messages.filter((m) => m.sender_type === 'bot' && /^bot-/.test(m.client_id ?? 'bot-')).length >= PER_CONVERSATION, true);
    }
  });

  test('widget on A, dashboard on B, admin on C: chat, then the agent disabled and the widget revoked on C close their sockets on B and A', async (t) => {
    if (why) return t.skip(why);
    const agent = JSON.parse(await cluster.cli(['agent', 'create', '--name', 'Cy Node-B', '--email', 'cy@example.com', '--json']));
    const password = 'cluster-' + randomBytes(12).toString('hex');
    await cluster.cli(['admin', 'create', '--email', 'root@example.com', '--name', 'Root'], { node: C, input: password + '\n' });
    const admin = await signInWithPassword(C, 'root@example.com', password);
    // A widget of its own to revoke, so the demo widget stays usable.
    const created = JSON.parse(await cluster.cli(['widget', 'create', '--name', 'Revocable', '--json']));

    const agentSide = await openDashboard(B, agent.token);
    t.after(() => close(agentSide));
    const { page, d } = agentSide;
    await d.availability('Online').check();
    const visitor = await openVisitor(A, 'Vera Node-A', 'Hi from A, three nodes', created.token);
    t.after(() => close(visitor));
    const { w } = visitor;
    assert.equal((await w.state()).realtimeProvider, 'reverb');
    await d.tab('Bot').click();
    await d.row('Vera Node-A').click();
    await d.message('Hi from A, three nodes').waitFor();
    await page.waitForFunction(() => window.ParleyDashboard.state.conversationLive === true);
    await d.reply.fill('Hi from B, three nodes');
    await d.reply.press('Enter');
    await w.waitForMessage('Hi from B, three nodes');
    assert.ok((await messagesOver(visitor.page, A)).includes('Hi from B, three nodes'), 'over node A\'s socket');
    await w.send('And back to B');
    await d.message('And back to B').waitFor();
    assert.ok((await messagesOver(page, B)).includes('And back to B'), 'over node B\'s socket');
    await shot(page, 'three-nodes-dashboard-B');

    // One more socket each, of the agent's on B and the visitor's on A, which (unlike the
    // dashboard and the widget) never close themselves when their calls are refused.
    const key = B.extraEnv.REVERB_APP_KEY;
    const agentSockets = (await socketsTo(page, B)).length;
    await channelSocket(page, B, {
      key,
      channel: 'private-agent.' + agent.id,
      authPath: '/api/agent/broadcasting/auth',
      headers: { Authorization: 'Bearer ' + agent.token },
    });
    const visitorSockets = (await socketsTo(visitor.page, A)).length;
    const { visitorToken } = (await session(visitor.page)).value;
    await channelSocket(visitor.page, A, {
      key,
      channel: 'private-chat.conversation.' + visitor.conversationId,
      authPath: '/api/chatbot/broadcasting/auth',
      headers: { Authorization: 'Bearer ' + created.token, 'X-Visitor-Token': visitorToken },
    });

    // The admin disables the agent on C. The dashboard on B signs out (its calls are refused,
    // and its socket is closed, by the server or by itself on signing out, whichever is first),
    // and B's watcher closes with 4009 the agent's sockets it signed.
    const disabled = await C.call('POST', `/api/admin/users/${agent.id}/disable`, { headers: admin });
    assert.equal(disabled.status, 200, disabled.text);
    const closes = async () => JSON.stringify((await socketsTo(page, B)).map((x) => x.closed));
    await until(
      async () => (await socketsTo(page, B))[agentSockets]?.closed?.code === 4009,
      async () => `the agent's socket on B closed with 4009; the page's sockets on B: ${await closes()}`,
      30000,
    );
    await page.getByText('The server no longer accepts your token').waitFor({ timeout: 20000 });
    await page.getByLabel('Agent token').waitFor();
    await until(async () => (await socketsTo(page, B)).every((x) => x.closed), async () => `every socket on B closed: ${await closes()}`);
    await shot(page, 'three-nodes-dashboard-B-signed-out');

    // The admin revokes the widget on C: A's watcher closes with 4009 the visitor's sockets it
    // signed, the widget's and the extra one (the widget, refused, may have closed its own first).
    const revoked = await C.call('POST', `/api/admin/widgets/${created.id}/revoke`, { headers: admin });
    assert.equal(revoked.status, 200, revoked.text);
    const visitorCloses = async () => JSON.stringify((await socketsTo(visitor.page, A)).map((x) => x.closed));
    await until(
      async () => (await socketsTo(visitor.page, A))[visitorSockets]?.closed?.code === 4009,
      async () => `the visitor's socket on A closed with 4009; the page's sockets on A: ${await visitorCloses()}`,
      30000,
    );
    await until(async () => (await socketsTo(visitor.page, A)).every((x) => x.closed), async () => `every socket on A closed: ${await visitorCloses()}`);
    const refused = await A.call('GET', '/api/chatbot/config', { headers: { Authorization: 'Bearer ' + created.token } });
    assert.equal(refused.status, 401, 'the widget token is refused');
    await shot(visitor.page, 'three-nodes-widget-A-revoked');
    assert.deepEqual(page.errors, []);
    assert.deepEqual(visitor.page.errors, []);
  });
});
