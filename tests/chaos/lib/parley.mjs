// One `parley serve` node that the chaos test can SIGKILL and start again on the same ports and
// data directory, as a supervisor (systemd, Kubernetes) would. Readiness is the lines it prints,
// never a sleep; a start that fails (the database or Redis away at that instant) is retried a
// bounded number of times, as a supervisor's restart policy would.

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = resolve(here, '..', '..', '..');

export function parleyBin() {
  return process.env.PARLEY_BIN ? resolve(process.env.PARLEY_BIN) : join(REPO_ROOT, 'target', 'debug', 'parley');
}

/** A port nothing listens on right now (bound to 0, then released). */
export async function freePort() {
  const server = createServer();
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  await new Promise((r) => server.close(r));
  return port;
}

const READY_MS = 30000;
const START_ATTEMPTS = 10;

export class ParleyNode {
  /**
   * @param {object} o
   * @param {string} o.name label in the report and in errors
   * @param {string} o.dataDir PARLEY_DATA_DIR (kept across restarts)
   * @param {object} o.env DATABASE_URL, REDIS_URL, REVERB_APP_* …
   */
  constructor({ name, dataDir, env }) {
    this.name = name;
    this.dataDir = dataDir;
    this.extraEnv = env;
    this.proc = null;
    this.out = '';
    this.starts = 0;
    this.failedStarts = 0;
  }

  async init() {
    this.httpPort = await freePort();
    this.realtimePort = await freePort();
    this.baseUrl = `http://127.0.0.1:${this.httpPort}`;
    mkdirSync(this.dataDir, { recursive: true });
  }

  env() {
    const env = { ...process.env };
    for (const k of Object.keys(env)) {
      if (/^(REVERB_|PARLEY_|PUSHER_|BROADCAST_|DATABASE_URL|REDIS_URL)/.test(k)) delete env[k];
    }
    return Object.assign(env, {
      PARLEY_DATA_DIR: this.dataDir,
      PARLEY_HTTP_ADDR: `127.0.0.1:${this.httpPort}`,
      REVERB_SERVER_HOST: '127.0.0.1',
      REVERB_SERVER_PORT: String(this.realtimePort),
      // Only the senders' and the widget's messages: no bot answering each one.
      PARLEY_BOT_WORKER: 'false',
      // A few hundred messages a minute from one address is the test, not an attack.
      PARLEY_RATE_MESSAGES_PER_IP: '0',
      PARLEY_RATE_MESSAGES_PER_WIDGET: '0',
      PARLEY_RATE_CONVERSATIONS_PER_IP: '0',
      RUST_LOG: process.env.RUST_LOG || 'warn',
    }, this.extraEnv);
  }

  /** Starts the process; resolves once it printed where it listens (and the demo token). */
  async start() {
    const bin = parleyBin();
    if (!existsSync(bin)) throw new Error(`parley binary not found at ${bin}: run \`cargo build -p parley\` or set PARLEY_BIN`);
    let lastError;
    for (let attempt = 0; attempt < START_ATTEMPTS; attempt++) {
      try {
        await this.startOnce(bin);
        this.starts++;
        return;
      } catch (error) {
        this.failedStarts++;
        lastError = error;
        // A supervisor's restart delay; the dependency that refused us is coming back.
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    throw lastError;
  }

  startOnce(bin) {
    const proc = spawn(bin, ['serve'], { cwd: this.dataDir, env: this.env(), stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = proc;
    let buf = '';
    const found = {};
    const exited = new Promise((r) => proc.once('exit', (code, signal) => r({ code, signal })));
    this.exited = exited;
    return new Promise((resolveReady, reject) => {
      const timer = setTimeout(() => {
        proc.kill('SIGKILL');
        reject(new Error(`${this.name} did not print its ports in ${READY_MS} ms:\n${buf}`));
      }, READY_MS);
      const feed = (chunk) => {
        const text = chunk.toString();
        buf += text;
        this.out += text;
        if (this.out.length > 400_000) this.out = this.out.slice(-200_000);
        let m;
        if ((m = buf.match(/^Parley listening on http:\/\/[\d.]+:(\d+)/m))) found.http = Number(m[1]);
        if ((m = buf.match(/^Parley realtime server listening on http:\/\/[\d.]+:(\d+)/m))) found.realtime = Number(m[1]);
        if ((m = buf.match(/^Demo widget token: (cbw_\w+)/m))) found.token = m[1];
        if (found.http && found.realtime && found.token) {
          clearTimeout(timer);
          this.token = found.token;
          resolveReady();
        }
      };
      proc.stdout.on('data', feed);
      proc.stderr.on('data', feed);
      exited.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(new Error(`${this.name} exited while starting (code ${code}, signal ${signal}):\n${buf}`));
      });
    });
  }

  /** SIGKILL: no shutdown, no flush, whatever was in flight is cut. */
  async kill() {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill('SIGKILL');
    await this.exited;
  }

  async restart() {
    await this.kill();
    await this.start();
  }

  async stop() {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(timer);
  }

  /** Server log lines worth showing when something went wrong (warnings and errors). */
  problems(max = 20) {
    return this.out
      .replace(/\x1b\[[0-9;]*m/g, '')
      .split('\n')
      .filter((l) => /WARN|ERROR|panick/i.test(l))
      .slice(-max);
  }
}
