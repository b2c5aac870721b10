// Spawns `parley realtime` for one test file and stops it again.
//
// Each test file starts its own server on port 0 with its own apps file and
// environment, waits for the `listening on http://127.0.0.1:PORT` line on
// stdout (no sleeps), and kills it in `after()`.

import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';

const here = dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = resolve(here, '..', '..', '..');

/** Path of the server binary: $PARLEY_BIN or target/debug/parley in the repo. */
export function parleyBin() {
  return process.env.PARLEY_BIN
    ? resolve(process.env.PARLEY_BIN)
    : join(REPO_ROOT, 'target', 'debug', 'parley');
}

let nextAppId = 601452;

/**
 * An app entry for the apps file. Every field but id/key/secret is optional in
 * the server's contract; the defaults below are the documented ones, spelled
 * out so each test states what it relies on.
 */
export function makeApp(overrides = {}) {
  const id = String(nextAppId++);
  return {
    id,
    key: `key-${id}-${randomBytes(4).toString('hex')}`,
    secret: `secret-${randomBytes(12).toString('hex')}`,
    enabled: true,
    client_events: true,
    ...overrides,
  };
}

/**
 * Starts the server.
 *   apps: array of app objects (written to a temp apps file, PARLEY_APPS_FILE)
 *   env:  extra environment (PARLEY_ACTIVITY_TIMEOUT, ...)
 * Resolves to { port, host, httpUrl, wsUrl(key), apps, stop(), output() }.
 */
export async function startServer({ apps, env = {}, readyTimeoutMs = 15000 } = {}) {
  const bin = parleyBin();
  if (!existsSync(bin)) {
    throw new Error(`parley binary not found at ${bin} (build it with \`cargo build -p parley\` or set PARLEY_BIN)`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'parley-conf-'));
  const childEnv = { ...process.env };
  // Never inherit app settings from the developer's shell; nor REDIS_URL, or servers of
  // different test files would join one cluster (the cluster tests pass it explicitly).
  for (const k of Object.keys(childEnv)) {
    if (k.startsWith('REVERB_') || k.startsWith('PARLEY_') || k.startsWith('PUSHER_') || k === 'REDIS_URL') delete childEnv[k];
  }
  childEnv.REVERB_SERVER_HOST = '127.0.0.1';
  childEnv.REVERB_SERVER_PORT = '0';
  childEnv.PARLEY_DATA_DIR = join(dir, 'data');
  if (!childEnv.RUST_LOG) childEnv.RUST_LOG = 'info';
  if (apps) {
    const file = join(dir, 'apps.json');
    writeFileSync(file, JSON.stringify({ apps }, null, 2));
    childEnv.PARLEY_APPS_FILE = file;
  }
  Object.assign(childEnv, env);

  const proc = spawn(bin, ['realtime'], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (chunk) => {
    out += chunk.toString();
    if (out.length > 200_000) out = out.slice(-100_000);
  };
  proc.stdout.on('data', keep);
  proc.stderr.on('data', keep);
  const exited = new Promise((res) => proc.once('exit', (code, signal) => res({ code, signal })));

  const port = await new Promise((res, rej) => {
    let buf = '';
    const timer = setTimeout(() => {
      cleanup();
      proc.kill('SIGKILL');
      rej(new Error(`server did not print "listening on http://127.0.0.1:PORT" within ${readyTimeoutMs} ms; output:\n${out}`));
    }, readyTimeoutMs);
    const onData = (chunk) => {
      buf += chunk.toString();
      const m = buf.match(/listening on http:\/\/127\.0\.0\.1:(\d+)/);
      if (m) {
        cleanup();
        res(Number(m[1]));
      }
    };
    const onExit = (code, signal) => {
      cleanup();
      rej(new Error(`server exited before listening (code ${code}, signal ${signal}); output:\n${out}`));
    };
    const onError = (err) => {
      cleanup();
      rej(err);
    };
    function cleanup() {
      clearTimeout(timer);
      proc.stdout.off('data', onData);
      proc.off('exit', onExit);
      proc.off('error', onError);
    }
    proc.stdout.on('data', onData);
    proc.once('exit', onExit);
    proc.once('error', onError);
  });

  const host = '127.0.0.1';
  let stopped = false;
  return {
    host,
    port,
    apps: apps ?? [],
    proc,
    httpUrl: `http://${host}:${port}`,
    wsUrl: (key, query = 'protocol=7&client=js&version=8.6.0&flash=false') =>
      `ws://${host}:${port}/app/${key}${query ? `?${query}` : ''}`,
    output: () => out,
    async stop() {
      if (stopped) return;
      stopped = true;
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
