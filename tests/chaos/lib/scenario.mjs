// One chaos scenario: start the nodes (and their own PostgreSQL database and Redis), start a
// conversation, subscribe the receivers, run the senders while the faults happen on a schedule,
// then wait (bounded) until every receiver shows every acknowledged message, and count.

import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ParleyNode } from './parley.mjs';
import { OwnDatabase, OwnRedis } from './deps.mjs';
import { Sender } from './senders.mjs';
import { PusherReceiver, WidgetReceiver } from './receivers.mjs';
import { count, describeMissing, formatReport } from './report.mjs';

const SENDERS = 3;
const PUSHER_RECEIVERS_PER_NODE = 2;
/** After the senders stop: how long receivers get to show everything acknowledged. */
const CONVERGE_MS = 60000;
const CHECK_EVERY_MS = 250;

/**
 * @param {object} o
 * @param {string} o.name
 * @param {'sqlite'|'postgres'} o.database
 * @param {number} o.nodeCount
 * @param {boolean} o.redis whether the nodes share a Redis (REDIS_URL)
 * @param {Array<[number, string]>} o.faults [ms after the start, 'kill:0' | 'kill:1' | 'redis' | 'pg']
 * @param {number} o.durationMs how long the senders start new messages
 * @param {import('playwright-core').Browser} [o.browser]
 * @param {(line: string) => void} o.log
 */
export async function runScenario({ name, database, nodeCount, redis: useRedis, faults, durationMs, browser, log }) {
  const dir = mkdtempSync(join(tmpdir(), 'parley-chaos-'));
  const tag = name.replace(/[^a-z0-9]/gi, '') + randomBytes(2).toString('hex');
  const cleanup = [];
  const faultLog = [];
  try {
    // ---- dependencies and nodes
    const env = {
      // One app on every node: the realtime credentials must match across nodes and restarts.
      REVERB_APP_ID: 'chaos',
      REVERB_APP_KEY: 'chaos-key-' + randomBytes(4).toString('hex'),
      REVERB_APP_SECRET: randomBytes(16).toString('hex'),
    };
    let db = null;
    if (database === 'postgres') {
      db = new OwnDatabase();
      await db.create();
      cleanup.push(() => db.drop());
      env.DATABASE_URL = db.url;
    }
    let redis = null;
    if (useRedis) {
      redis = new OwnRedis();
      await redis.init();
      await redis.start();
      cleanup.push(() => redis.kill());
      env.REDIS_URL = redis.url;
      env.PARLEY_CLUSTER_CHANNEL = 'parley:chaos:' + tag;
    }
    const nodes = [];
    for (let i = 0; i < nodeCount; i++) {
      const node = new ParleyNode({ name: String.fromCharCode(65 + i), dataDir: join(dir, `node${i}`), env });
      await node.init();
      nodes.push(node);
    }
    cleanup.push(() => Promise.all(nodes.map((n) => n.stop())));
    await nodes[0].start();
    // The first node created the demo widget in the shared database; the others are given its
    // token and link secret, as a deployment shares its configuration.
    for (const node of nodes.slice(1)) {
      for (const file of ['demo-widget-token', 'link-secret']) {
        if (existsSync(join(nodes[0].dataDir, file))) copyFileSync(join(nodes[0].dataDir, file), join(node.dataDir, file));
      }
      await node.start();
    }

    // ---- the conversation everyone writes to and reads
    const started = await fetch(`${nodes[0].baseUrl}/api/chatbot/conversation`, {
      method: 'POST',
      headers: { Authorization: 'Bearer ' + nodes[0].token, 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ visitor_name: 'Chaos' }),
    });
    const startedBody = await started.json();
    if (started.status !== 201) throw new Error(`starting the conversation answered ${started.status}: ${JSON.stringify(startedBody)}`);
    const conversation = { id: startedBody.conversation.id, visitorToken: startedBody.visitor_token, token: nodes[0].token };

    // ---- receivers, split over the nodes
    const receivers = [];
    for (const node of nodes) {
      for (let i = 1; i <= PUSHER_RECEIVERS_PER_NODE; i++) {
        receivers.push(new PusherReceiver({ name: `pusher-js ${node.name}${i}`, node, conversation }));
      }
    }
    let context = null;
    if (browser) {
      context = await browser.newContext();
      cleanup.push(() => context.close().catch(() => {}));
      // One widget on the last node (on two nodes it reads what the first node's senders wrote
      // through Redis).
      const node = nodes[nodes.length - 1];
      receivers.push(new WidgetReceiver({ name: `widget ${node.name}`, node, conversation, context }));
    }
    cleanup.push(() => Promise.all(receivers.map((r) => r.stop())));
    for (const r of receivers) await r.start();
    await until(() => receivers.every((r) => r.kind !== 'pusher-js' || r.subscribed), 20000, () =>
      'receivers never subscribed: ' + receivers.filter((r) => r.kind === 'pusher-js' && !r.subscribed).map((r) => r.name).join(', '),
    );

    // ---- senders and faults
    const senders = [];
    for (let i = 1; i <= SENDERS; i++) senders.push(new Sender({ name: `s${i}`, nodes, conversation, tag, offset: i - 1 }));
    const t0 = Date.now();
    const at = () => ((Date.now() - t0) / 1000).toFixed(1) + 's';
    for (const s of senders) s.start();
    for (const [when, fault] of faults) {
      const wait = t0 + when - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const began = Date.now();
      let what;
      if (fault.startsWith('kill:')) {
        const node = nodes[Number(fault.slice(5))];
        await node.restart();
        what = `SIGKILL node ${node.name}, restarted`;
      } else if (fault === 'redis') {
        await redis.restart();
        what = 'Redis killed and restarted (empty)';
      } else if (fault === 'pg') {
        const cut = await db.cut();
        what = `PostgreSQL: ${cut} connections terminated`;
      } else throw new Error(`unknown fault ${fault}`);
      faultLog.push(`+${((began - t0) / 1000).toFixed(1)}s ${what} (${Date.now() - began} ms)`);
      log(`  [${name}] ${at()} ${what}`);
    }
    const left = t0 + durationMs - Date.now();
    if (left > 0) await new Promise((r) => setTimeout(r, left));
    await Promise.all(senders.map((s) => s.stop()));
    const sendersDone = at();

    // ---- every acknowledged message shown by every receiver
    const acked = new Map();
    const acks = new Map();
    for (const s of senders) {
      for (const [clientId, a] of s.acked) {
        acked.set(clientId, a.id);
        acks.set(clientId, a);
      }
    }
    const missing = async () => {
      let total = 0;
      for (const r of receivers) {
        if (r.kind === 'widget') await r.read();
        total += count(r.shown(), acked).lost;
      }
      return total;
    };
    const convergeStart = Date.now();
    let stillMissing = await missing();
    while (stillMissing > 0 && Date.now() - convergeStart < CONVERGE_MS) {
      await new Promise((r) => setTimeout(r, CHECK_EVERY_MS));
      stillMissing = await missing();
    }
    const convergedAfter = Date.now() - convergeStart;

    // The store itself, read from the start by a fresh client, is one more receiver.
    const history = await readHistory(nodes[0], conversation);
    const rows = [
      ...receivers.map((r) => ({ name: r.name, how: r.describe(), ...count(r.shown(), acked) })),
      { name: 'store (GET ?after=0)', how: 'the conversation as stored', ...count(history, acked) },
    ];
    for (const row of rows) if (row.lost) row.missedFrom = describeMissing(row.missing, acks, t0);
    const report = formatReport({
      name,
      senders,
      rows,
      faults: faultLog,
      notes: [
        `senders stopped at ${sendersDone}; receivers ${stillMissing ? `still missed ${stillMissing} after` : 'caught up in'} ${convergedAfter} ms`,
        ...nodes.map((n) => `node ${n.name}: ${n.starts} starts${n.failedStarts ? `, ${n.failedStarts} failed starts retried` : ''}`),
      ],
    });
    const problems = nodes.flatMap((n) => n.problems(8).map((l) => `node ${n.name}: ${l}`));
    return { rows, senders, report, problems, receivers };
  } finally {
    for (const fn of cleanup.reverse()) {
      try {
        await fn();
      } catch (error) {
        log(`  [${name}] cleanup: ${error.message}`);
      }
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

async function until(predicate, timeoutMs, describe) {
  const start = Date.now();
  while (!predicate()) {
    if (Date.now() - start > timeoutMs) throw new Error(describe());
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function readHistory(node, conversation) {
  const out = [];
  let after = 0;
  for (let page = 0; page < 1000; page++) {
    const res = await fetch(`${node.baseUrl}/api/chatbot/conversation/${conversation.id}?after=${after}&limit=500`, {
      headers: { Authorization: 'Bearer ' + conversation.token, 'X-Visitor-Token': conversation.visitorToken },
    });
    if (!res.ok) throw new Error(`reading the history answered ${res.status}`);
    const body = await res.json();
    for (const m of body.messages) out.push({ id: m.id, text: m.message });
    if (!body.has_more || !body.messages.length) break;
    after = body.messages[body.messages.length - 1].id;
  }
  return out;
}
