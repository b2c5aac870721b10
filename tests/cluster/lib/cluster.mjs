// A cluster of `parley serve` nodes for the cluster tests: real processes (the chaos suite's
// ParleyNode) sharing one PostgreSQL database that this suite creates and drops, and the Redis
// PARLEY_TEST_REDIS_URL names under a cluster channel of their own (so their pub/sub and every
// key derived from it, the shared rate limits' included, are this run's only). Each node has
// its own data directory; the first creates the demo widget and the others are given its token
// and link secret, as a deployment shares its configuration. Readiness is the lines a node
// prints, never a sleep.

import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ParleyNode, parleyBin } from '../../chaos/lib/parley.mjs';

export const POSTGRES_URL = process.env.PARLEY_TEST_POSTGRES_URL || 'postgres://postgres@127.0.0.1/test';
export const REDIS_URL = process.env.PARLEY_TEST_REDIS_URL || 'redis://127.0.0.1:6379/';

function run(cmd, args, { env, cwd, input, timeout = 30000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { env: env || process.env, cwd, timeout, maxBuffer: 16 << 20 }, (error, stdout, stderr) =>
      error ? reject(new Error(`${cmd} ${args.join(' ')}: ${stderr.trim() || error.message}`)) : resolve(stdout),
    );
    child.stdin.end(input ?? '');
  });
}

function withDatabase(url, name) {
  const u = new URL(url);
  u.pathname = '/' + name;
  return u.toString();
}

/** Runs one SQL statement with psql; resolves to its rows, each an array of column texts. */
export async function psql(url, sql) {
  const out = await run('psql', [url, '-X', '-q', '-t', '-A', '-F', '\t', '-v', 'ON_ERROR_STOP=1', '-c', sql], {
    env: { ...process.env, PGCONNECT_TIMEOUT: '5' },
  });
  return out.split('\n').filter((line) => line !== '').map((line) => line.split('\t'));
}

/** Why the cluster tests cannot run here (no PostgreSQL, Redis or psql), or null. */
export async function unavailable() {
  // `make test` unsets them when it found none and could not start one.
  if (process.env.PARLEY_SERVICES_CHECKED && !process.env.PARLEY_TEST_POSTGRES_URL) return 'no PostgreSQL to test against (PARLEY_TEST_POSTGRES_URL is unset)';
  if (process.env.PARLEY_SERVICES_CHECKED && !process.env.PARLEY_TEST_REDIS_URL) return 'no Redis to test against (PARLEY_TEST_REDIS_URL is unset)';
  try {
    await psql(POSTGRES_URL, 'SELECT 1');
  } catch (error) {
    return `PostgreSQL at PARLEY_TEST_POSTGRES_URL is unreachable: ${error.message.split('\n')[0]}`;
  }
  try {
    await redisPing(REDIS_URL);
  } catch (error) {
    return `Redis at PARLEY_TEST_REDIS_URL is unreachable: ${error.message}`;
  }
  return null;
}

/** PING over a plain socket (the suite needs no Redis client). */
function redisPing(url) {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: u.hostname || '127.0.0.1', port: Number(u.port) || 6379 });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('no answer within 5 s'));
    }, 5000);
    let answer = '';
    socket.on('connect', () => {
      if (u.password) socket.write(`AUTH ${decodeURIComponent(u.username || 'default')} ${decodeURIComponent(u.password)}\r\n`);
      socket.write('PING\r\n');
    });
    socket.on('data', (chunk) => {
      answer += chunk;
      if (/\+PONG\r\n/.test(answer) || /^-/m.test(answer)) {
        clearTimeout(timer);
        socket.end();
        /\+PONG/.test(answer) ? resolve() : reject(new Error(answer.trim()));
      }
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/**
 * Starts `count` nodes (named A, B, C…) sharing a new database and this run's cluster channel.
 * `env` is added to every node's (e.g. PARLEY_BOT_WORKER, rate limits). Resolves to the cluster:
 * its nodes, `sql()` on its database, `cli()` through a node, `stop()`.
 */
export async function startCluster({ name, count, env = {} }) {
  const dir = mkdtempSync(join(tmpdir(), 'parley-cluster-'));
  const database = `parley_cluster_test_${name}_${randomBytes(3).toString('hex')}`;
  const databaseUrl = withDatabase(POSTGRES_URL, database);
  await psql(POSTGRES_URL, `CREATE DATABASE ${database}`);
  const shared = {
    DATABASE_URL: databaseUrl,
    REDIS_URL,
    PARLEY_CLUSTER_CHANNEL: `parley-cluster-test:${name}:${randomBytes(4).toString('hex')}`,
    // One realtime app on every node: browsers' channel auth from one node is checked by another.
    REVERB_APP_ID: 'cluster',
    REVERB_APP_KEY: 'cluster-key-' + randomBytes(4).toString('hex'),
    REVERB_APP_SECRET: randomBytes(16).toString('hex'),
    // Every browser here comes from 127.0.0.1: revoked tokens must not throttle the next test.
    PARLEY_RATE_AUTH_FAILURES_PER_IP: '0',
    ...env,
  };
  const nodes = [];
  const cluster = {
    nodes,
    databaseUrl,
    channel: shared.PARLEY_CLUSTER_CHANNEL,
    sql: (statement) => psql(databaseUrl, statement),
    /** `parley <args>` with `node`'s settings (the CLI works on the shared database). */
    cli: (args, { node = nodes[0], input } = {}) => run(parleyBin(), args, { env: node.env(), cwd: node.dataDir, input }),
    async stop() {
      await Promise.all(nodes.map((n) => n.stop()));
      await psql(POSTGRES_URL, `DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    for (let i = 0; i < count; i++) {
      const node = new ParleyNode({ name: String.fromCharCode(65 + i), dataDir: join(dir, `node${i}`), env: shared });
      await node.init();
      nodes.push(node);
    }
    await nodes[0].start();
    for (const node of nodes.slice(1)) {
      for (const file of ['demo-widget-token', 'link-secret']) {
        if (existsSync(join(nodes[0].dataDir, file))) copyFileSync(join(nodes[0].dataDir, file), join(node.dataDir, file));
      }
      await node.start();
    }
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  for (const node of nodes) {
    node.dashboardUrl = node.baseUrl + '/dashboard';
    node.call = (method, path, { headers = {}, body } = {}) => call(node.baseUrl, method, path, headers, body);
  }
  return cluster;
}

async function call(baseUrl, method, path, headers, body) {
  const h = { Accept: 'application/json', ...headers };
  if (body !== undefined) h['Content-Type'] = 'application/json';
  const res = await fetch(baseUrl + path, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {
    /* keep the text */
  }
  return { status: res.status, headers: res.headers, json, text };
}

/** Signs `email` in on `node` with a password; resolves to the headers its calls need. */
export async function signInWithPassword(node, email, password) {
  const res = await fetch(node.baseUrl + '/api/auth/login', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  const body = await res.json();
  if (res.status !== 200) throw new Error(`signing ${email} in on node ${node.name} answered ${res.status}: ${JSON.stringify(body)}`);
  const cookie = res.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  return { Cookie: cookie, 'X-CSRF-Token': body.csrf_token };
}

/**
 * Resolves once `check()` resolves truthy (asked every 100 ms), or fails after `ms`; `what` may
 * be a function, asked then, to say what was seen instead.
 */
export async function until(check, what, ms = 20000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error('timed out waiting for ' + (typeof what === 'function' ? await what() : what));
    await new Promise((r) => setTimeout(r, 100));
  }
}
