// Starts the real Parley server (`parley serve`) for one test file: a fresh data directory,
// HTTP and realtime on port 0, and the lines it prints parsed for the ports, the demo widget
// token, (with `agent: true`) the demo agent's token and (with `setup: true`) the first-run link
// that creates the first admin. Waits for those lines (no sleeps) and stops the server in after().
// `cli()` runs other `parley` commands on the same data directory, with standard input if given.

import { execFile, spawn } from 'node:child_process';
import { createHash, createHmac } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const WEB_DIR = resolve(here, '..', '..');
export const REPO_ROOT = resolve(WEB_DIR, '..');

export function parleyBin() {
  return process.env.PARLEY_BIN ? resolve(process.env.PARLEY_BIN) : join(REPO_ROOT, 'target', 'debug', 'parley');
}

/** A port nothing listens on (bound, then released). */
export async function closedPort() {
  const server = createServer();
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  await new Promise((r) => server.close(r));
  return port;
}

/**
 * Starts `parley serve`. Resolves to {baseUrl, realtimePort, token, agentToken, setupUrl, output(),
 * stop(), api, agentApi, cli}. `env` adds variables (e.g. REVERB_PORT to advertise a closed port);
 * `agent: true` also waits for the demo agent's token, `setup: true` for the first-run link
 * (`…/dashboard#setup=psl_…`, printed while nobody has a password).
 */
export async function startParley({ env = {}, agent = false, setup = false, readyTimeoutMs = 30000 } = {}) {
  const bin = parleyBin();
  if (!existsSync(bin)) throw new Error(`parley binary not found at ${bin}: run \`cargo build -p parley\` or set PARLEY_BIN`);
  const dir = mkdtempSync(join(tmpdir(), 'parley-widget-'));
  const childEnv = { ...process.env };
  for (const k of Object.keys(childEnv)) {
    if (/^(REVERB_|PARLEY_|PUSHER_|BROADCAST_|DATABASE_URL|REDIS_URL)/.test(k)) delete childEnv[k];
  }
  Object.assign(childEnv, {
    PARLEY_DATA_DIR: join(dir, 'data'),
    PARLEY_HTTP_ADDR: '127.0.0.1:0',
    REVERB_SERVER_PORT: '0',
    RUST_LOG: process.env.RUST_LOG || 'warn',
    // Most tests check exactly which messages two parties exchanged; the built-in bot would
    // answer each one. The tests about the bot turn it back on.
    PARLEY_BOT_WORKER: 'false',
    // Every browser here connects from 127.0.0.1, and tests of bad and revoked tokens add up
    // over a file's run: the per-IP throttle on refused tokens (tested in the Rust suite) would
    // start answering the next test's good tokens with 429.
    PARLEY_RATE_AUTH_FAILURES_PER_IP: '0',
  }, env);
  // Run in a scratch directory so a developer's .env in the repo is not picked up.
  const proc = spawn(bin, ['serve'], { cwd: dir, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const found = {};
  let onLine = () => {};
  const feed = (chunk) => {
    out += chunk.toString();
    if (out.length > 400_000) out = out.slice(-200_000);
    let m;
    if (!found.baseUrl && (m = out.match(/^Parley listening on (http:\/\/[\d.]+:\d+)/m))) found.baseUrl = m[1];
    if (!found.realtimePort && (m = out.match(/^Parley realtime server listening on http:\/\/[\d.]+:(\d+)/m))) found.realtimePort = Number(m[1]);
    if (!found.token && (m = out.match(/^Demo widget token: (cbw_\w+)/m))) found.token = m[1];
    if (!found.agentToken && (m = out.match(/^Demo agent token: (cba_\w+)/m))) found.agentToken = m[1];
    if (!found.dashboardUrl && (m = out.match(/^Dashboard: (http:\/\/\S+)/m))) found.dashboardUrl = m[1];
    if (!found.setupUrl && (m = out.match(/^Create the first admin .*?: (http:\/\/\S+#setup=\S+)/m))) found.setupUrl = m[1];
    onLine();
  };
  proc.stdout.on('data', feed);
  proc.stderr.on('data', feed);
  const exited = new Promise((r) => proc.once('exit', (code, signal) => r({ code, signal })));

  try {
    await new Promise((resolveReady, reject) => {
      const timer = setTimeout(() => reject(new Error('parley did not print its ports and tokens in time:\n' + out)), readyTimeoutMs);
      onLine = () => {
        if (found.baseUrl && found.realtimePort && found.token && (!agent || found.agentToken) && (!setup || found.setupUrl)) {
          clearTimeout(timer);
          resolveReady();
        }
      };
      exited.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(new Error(`parley exited early (code ${code}, signal ${signal}):\n${out}`));
      });
      onLine();
    });
  } catch (error) {
    proc.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  onLine = () => {};

  const { baseUrl, token } = found;
  const call = async (method, path, headers, body) => {
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const res = await fetch(baseUrl + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    let json = null;
    try {
      json = JSON.parse(text);
    } catch {
      /* keep text */
    }
    return { status: res.status, json, text };
  };
  return {
    baseUrl,
    token,
    agentToken: found.agentToken,
    dashboardUrl: found.dashboardUrl || baseUrl + '/dashboard',
    setupUrl: found.setupUrl,
    realtimePort: found.realtimePort,
    dataDir: join(dir, 'data'),
    output: () => out,
    /** Calls the chat API as a widget would (Node side: another party, or checks). */
    async api(method, path, { body, visitorToken } = {}) {
      const headers = { Authorization: 'Bearer ' + token, Accept: 'application/json' };
      if (visitorToken) headers['X-Visitor-Token'] = visitorToken;
      return call(method, path, headers, body);
    },
    /** Calls the agent API (the demo agent's token unless another is given). */
    agentApi(method, path, { body, agentToken = found.agentToken } = {}) {
      return call(method, path, { Authorization: 'Bearer ' + agentToken, Accept: 'application/json' }, body);
    },
    /**
     * Runs `parley <args>` on this server's data directory; resolves to its stdout (with
     * `withStderr`, to `{stdout, stderr}`). `input` is written to its standard input (a password
     * for `parley admin create`, say), which is otherwise closed.
     */
    cli(args, { input, withStderr = false } = {}) {
      return new Promise((resolveRun, reject) => {
        const child = execFile(bin, args, { cwd: dir, env: childEnv, timeout: 30000 }, (error, stdout, stderr) =>
          error ? reject(new Error(`parley ${args.join(' ')} failed: ${error.message}\n${stderr}`)) : resolveRun(withStderr ? { stdout, stderr } : stdout),
        );
        // A command that exits without reading its input closes the pipe first: writing to it
        // then fails with EPIPE, which is no failure of the command (its exit status says that).
        child.stdin.on('error', (error) => {
          if (error.code !== 'EPIPE') reject(error);
        });
        child.stdin.end(input ?? '');
      });
    },
    /**
     * Publishes an event the way the chat service's broadcaster does, through the realtime
     * server's signed HTTP API (used for what only the agent side or the bot can cause).
     */
    async publish(channel, event, data) {
      const app = JSON.parse(readFileSync(join(dir, 'data', 'realtime-app.json'), 'utf8'));
      const body = JSON.stringify({ name: event, channels: [channel], data: JSON.stringify(data) });
      const path = `/apps/${app.id}/events`;
      const params = new URLSearchParams({
        auth_key: app.key,
        auth_timestamp: String(Math.floor(Date.now() / 1000)),
        auth_version: '1.0',
        body_md5: createHash('md5').update(body).digest('hex'),
      });
      const query = [...params.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}=${v}`).join('&');
      const signature = createHmac('sha256', app.secret).update(`POST\n${path}\n${query}`).digest('hex');
      const res = await fetch(`http://127.0.0.1:${found.realtimePort}${path}?${query}&auth_signature=${signature}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body,
      });
      if (!res.ok) throw new Error(`publish ${event} failed: ${res.status} ${await res.text()}`);
    },
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
