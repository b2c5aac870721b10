// The dependencies the chaos test breaks on purpose, each its own so nothing shared is touched:
// a redis-server this test starts on a free port (and restarts), and a PostgreSQL database this
// test creates on the server PARLEY_TEST_POSTGRES_URL names (whose connections it cuts, and which
// it drops afterwards). PostgreSQL is driven with `psql`, so the suite needs no database driver.

import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { freePort } from './parley.mjs';

function run(cmd, args, { env, timeout = 15000 } = {}) {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { env: { ...process.env, ...env }, timeout }, (error, stdout, stderr) =>
      error ? reject(new Error(stderr.trim() || `${cmd}: ${error.message}`)) : resolve(stdout),
    );
  });
}

// ---------------------------------------------------------------------------------- Redis

export class OwnRedis {
  async init() {
    this.port = await freePort();
    this.url = `redis://127.0.0.1:${this.port}/`;
    this.restarts = 0;
  }

  /** Why Redis cannot be used here, or null. */
  static async unavailable() {
    try {
      await run('redis-server', ['--version']);
      return null;
    } catch {
      return 'redis-server is not installed';
    }
  }

  async start() {
    // No persistence: a restart comes back empty, as a cache or a pub/sub Redis usually does.
    const proc = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.proc = proc;
    this.exited = new Promise((r) => proc.once('exit', r));
    let out = '';
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`redis-server did not start:\n${out}`)), 15000);
      const feed = (c) => {
        out += c;
        if (/Ready to accept connections/.test(out)) {
          clearTimeout(timer);
          resolve();
        }
      };
      proc.stdout.on('data', feed);
      proc.stderr.on('data', feed);
      this.exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`redis-server exited while starting:\n${out}`));
      });
    });
  }

  /** Killed outright and started again empty on the same port. */
  async restart() {
    await this.kill();
    await this.start();
    this.restarts++;
  }

  async kill() {
    if (!this.proc || this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    this.proc.kill('SIGKILL');
    await this.exited;
  }
}

// ---------------------------------------------------------------------------------- PostgreSQL

const ADMIN_URL = process.env.PARLEY_TEST_POSTGRES_URL || 'postgres://postgres@127.0.0.1/test';

function withDatabase(url, name) {
  const u = new URL(url);
  u.pathname = '/' + name;
  return u.toString();
}

function psql(url, sql) {
  return run('psql', [url, '-X', '-q', '-t', '-A', '-v', 'ON_ERROR_STOP=1', '-c', sql], { env: { PGCONNECT_TIMEOUT: '5' } });
}

export class OwnDatabase {
  /** Why PostgreSQL cannot be used here, or null. */
  static async unavailable() {
    // `make test` unsets it when it found no PostgreSQL and could not start one.
    if (!process.env.PARLEY_TEST_POSTGRES_URL && process.env.PARLEY_SERVICES_CHECKED) return 'no PostgreSQL to test against (PARLEY_TEST_POSTGRES_URL is unset)';
    try {
      await run('psql', ['--version']);
    } catch {
      return 'psql is not installed';
    }
    try {
      await psql(ADMIN_URL, 'SELECT 1');
      return null;
    } catch (error) {
      return `PostgreSQL at PARLEY_TEST_POSTGRES_URL (${redact(ADMIN_URL)}) is unreachable: ${error.message.split('\n')[0]}`;
    }
  }

  async create() {
    this.name = 'chaos_' + randomBytes(6).toString('hex');
    await psql(ADMIN_URL, `CREATE DATABASE ${this.name}`);
    this.url = withDatabase(ADMIN_URL, this.name);
    this.cuts = 0;
  }

  /** Cuts every connection to this test's database (and only those); returns how many. */
  async cut() {
    const out = await psql(
      ADMIN_URL,
      `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '${this.name}' AND pid <> pg_backend_pid()`,
    );
    this.cuts++;
    return Number(out.trim()) || 0;
  }

  async drop() {
    if (!this.name) return;
    await psql(ADMIN_URL, `DROP DATABASE IF EXISTS ${this.name} WITH (FORCE)`);
    this.name = null;
  }
}

function redact(url) {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}
