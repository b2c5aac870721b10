// Waiting without sleeping: events with timeouts, an ordered event log for
// "did not happen before the marker" checks, and per-test cleanup.

import { randomBytes } from 'node:crypto';

export const DEFAULT_WAIT_MS = 5000;

/** A unique, valid channel-name suffix. */
export function uniq(prefix = 'c') {
  return `${prefix}-${randomBytes(5).toString('hex')}`;
}

/** Rejects after `ms` with `label` unless `promise` settles first. */
export function withTimeout(promise, ms, label) {
  let timer;
  const timeout = new Promise((_, rej) => {
    timer = setTimeout(() => rej(new Error(`timed out after ${ms} ms waiting for ${label}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function subscribeTo(emitter, event, fn) {
  if (typeof emitter.bind === 'function' && typeof emitter.unbind === 'function') {
    emitter.bind(event, fn); // pusher-js channels, connection, user, watchlist
    return () => emitter.unbind(event, fn);
  }
  if (typeof emitter.on === 'function') {
    emitter.on(event, fn); // EventEmitter, ws
    return () => (emitter.off ? emitter.off(event, fn) : emitter.removeListener(event, fn));
  }
  throw new Error('waitFor: not an emitter');
}

/**
 * Resolves with the arguments array of the first `event` emitted by `emitter`
 * for which `predicate(...args)` holds.
 */
export function waitForArgs(emitter, event, ms = DEFAULT_WAIT_MS, predicate = () => true) {
  let off = () => {};
  const p = new Promise((res) => {
    off = subscribeTo(emitter, event, (...args) => {
      let ok = false;
      try {
        ok = predicate(...args);
      } catch {
        ok = false;
      }
      if (ok) {
        off();
        res(args);
      }
    });
  });
  return withTimeout(p, ms, `event "${event}"`).finally(() => off());
}

/** Like waitForArgs, resolving with the first argument only. */
export async function waitFor(emitter, event, ms = DEFAULT_WAIT_MS, predicate = () => true) {
  const args = await waitForArgs(emitter, event, ms, predicate);
  return args[0];
}

/**
 * An ordered log of things that happened, with waiting. Used to prove that
 * something did NOT happen: wait for a later marker and check that nothing
 * unexpected is logged before it.
 */
export class EventLog {
  constructor() {
    this.entries = [];
    this.waiters = [];
  }
  push(name, data, extra = {}) {
    const entry = { name, data, ...extra, at: Date.now() };
    this.entries.push(entry);
    for (const w of [...this.waiters]) {
      if (w.pred(entry)) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.res(entry);
      }
    }
  }
  /** Resolves with the first entry (already logged or future) matching pred. */
  waitFor(pred, ms = DEFAULT_WAIT_MS, label = 'log entry') {
    const found = this.entries.find(pred);
    if (found) return Promise.resolve(found);
    let waiter;
    const p = new Promise((res) => {
      waiter = { pred, res };
      this.waiters.push(waiter);
    });
    return withTimeout(p, ms, `${label}; log so far: ${JSON.stringify(this.names())}`).finally(() => {
      const i = this.waiters.indexOf(waiter);
      if (i >= 0) this.waiters.splice(i, 1);
    });
  }
  names() {
    return this.entries.map((e) => e.name);
  }
  /** Entries logged before the first one matching `pred`. */
  before(pred) {
    const i = this.entries.findIndex(pred);
    return i < 0 ? [...this.entries] : this.entries.slice(0, i);
  }
}

// ---------------------------------------------------------------- cleanup

const open = new Set();

/** Registers something with close()/disconnect()/terminate() for cleanup(). */
export function track(thing) {
  open.add(thing);
  return thing;
}

/** Closes everything created by the current test (call in afterEach). */
export async function cleanup() {
  const things = [...open];
  open.clear();
  for (const t of things) {
    try {
      if (typeof t.terminate === 'function') t.terminate(); // raw ws clients
      else if (typeof t.disconnect === 'function') t.disconnect(); // pusher-js, Echo
      else if (typeof t.close === 'function') await t.close();
    } catch {
      // already gone
    }
  }
}
