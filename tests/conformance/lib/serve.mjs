// Spawns the whole product, `parley serve`, with a fresh data directory (SQLite, embedded
// realtime server, demo widget) and reads where it listens and the demo widget token from its
// stdout. No sleeps: it waits for the lines.

import { spawn } from 'node:child_process';
import { mkdtempSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parleyBin } from './server.mjs';

export async function startParley({ env = {}, readyTimeoutMs = 20000 } = {}) {
  const bin = parleyBin();
  if (!existsSync(bin)) throw new Error(`parley binary not found at ${bin}`);
  const dir = mkdtempSync(join(tmpdir(), 'parley-serve-'));
  const childEnv = { ...process.env };
  for (const k of Object.keys(childEnv)) {
    if (/^(REVERB_|PARLEY_|PUSHER_|BROADCAST_|DATABASE_URL)/.test(k)) delete childEnv[k];
  }
  Object.assign(childEnv, {
    PARLEY_DATA_DIR: join(dir, 'data'),
    PARLEY_HTTP_ADDR: '127.0.0.1:0',
    REVERB_SERVER_HOST: '127.0.0.1',
    REVERB_SERVER_PORT: '0',
    RUST_LOG: childEnv.RUST_LOG || 'warn',
    ...env,
  });
  const proc = spawn(bin, ['serve'], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stderr.on('data', (c) => { out += c; });
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`parley serve not ready:\n${out}`)), readyTimeoutMs);
    proc.stdout.on('data', (chunk) => {
      out += chunk;
      const http = out.match(/Parley listening on http:\/\/([\d.]+):(\d+)/);
      const realtime = out.match(/realtime server listening on http:\/\/([\d.]+):(\d+)/);
      const token = out.match(/Demo widget token: (cbw_[A-Za-z0-9]+)/);
      if (http && realtime && token) {
        clearTimeout(timer);
        resolve({ base: `http://${http[1]}:${http[2]}`, realtimePort: Number(realtime[2]), token: token[1] });
      }
    });
    proc.once('exit', (code) => reject(new Error(`parley serve exited with ${code}:\n${out}`)));
  });
  const info = await ready;
  return {
    ...info,
    output: () => out,
    async stop() {
      if (proc.exitCode !== null) return;
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await exited;
    },
  };
}
