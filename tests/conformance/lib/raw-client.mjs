// A raw `ws` client speaking Pusher frames and recording every frame, for
// checks below what the official clients show (frame shapes, close codes).

import WebSocket from 'ws';
import { DEFAULT_WAIT_MS, track, withTimeout } from './wait.mjs';


/** Parses a frame's `data` when it is a JSON string (as pusher-js does). */
export function dataOf(frame) {
  if (typeof frame?.data === 'string') {
    try {
      return JSON.parse(frame.data);
    } catch {
      return frame.data;
    }
  }
  return frame?.data;
}

/**
 * A WebSocket client speaking raw Pusher frames and recording every frame.
 * `frames` keeps parsed frames in arrival order; `next()` hands out frames
 * matching a predicate, each at most once.
 */
export class RawClient {
  constructor(ws) {
    this.ws = ws;
    this.frames = [];
    this.rawFrames = [];
    this.taken = new Set();
    this.waiters = [];
    this.socketId = null;
    this.activityTimeout = null;
    this.closeInfo = null;
    this.closed = new Promise((res) => {
      ws.on('close', (code, reason) => {
        this.closeInfo = { code, reason: reason.toString() };
        res(this.closeInfo);
        for (const w of this.waiters.splice(0)) w.onClose(this.closeInfo);
      });
    });
    ws.on('error', () => {}); // surfaced through `closed`
    ws.on('message', (buf) => {
      const text = buf.toString();
      this.rawFrames.push(text);
      let frame;
      try {
        frame = JSON.parse(text);
      } catch {
        frame = { event: '<unparseable>', raw: text };
      }
      this.frames.push(frame);
      const idx = this.frames.length - 1;
      for (const w of [...this.waiters]) {
        if (!this.taken.has(idx) && w.pred(frame)) {
          this.taken.add(idx);
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.res(frame);
        }
      }
    });
  }

  /**
   * Opens a connection to `url`. With `established` (default) it also waits
   * for pusher:connection_established and records socket_id. `autoPong:false`
   * stops ws from answering WebSocket ping control frames; `answerPings`
   * answers Pusher-level pusher:ping frames.
   */
  static async connect(
    url,
    { established = true, autoPong = true, answerPings = false, origin, headers, ms = DEFAULT_WAIT_MS } = {},
  ) {
    const ws = new WebSocket(url, { autoPong, origin, headers, perMessageDeflate: false });
    const client = track(new RawClient(ws));
    if (answerPings) {
      // Behave like pusher-js: answer every server pusher:ping with pusher:pong.
      ws.on('message', (buf) => {
        try {
          if (JSON.parse(buf.toString()).event === 'pusher:ping') client.send({ event: 'pusher:pong', data: {} });
        } catch {
          // not JSON: nothing to answer
        }
      });
    }
    if (established) {
      const f = await client.next((f) => f.event === 'pusher:connection_established', ms);
      const d = dataOf(f);
      client.socketId = d.socket_id;
      client.activityTimeout = d.activity_timeout;
    }
    return client;
  }

  /** The first not-yet-taken frame matching pred (already received or future). */
  next(pred = () => true, ms = DEFAULT_WAIT_MS, label) {
    if (typeof pred === 'string') {
      const name = pred;
      pred = (f) => f.event === name;
      label = label ?? `frame "${name}"`;
    }
    for (let i = 0; i < this.frames.length; i++) {
      if (!this.taken.has(i) && pred(this.frames[i])) {
        this.taken.add(i);
        return Promise.resolve(this.frames[i]);
      }
    }
    let waiter;
    const p = new Promise((res, rej) => {
      waiter = {
        pred,
        res,
        onClose: (info) =>
          rej(new Error(`socket closed (${info.code} ${info.reason}) while waiting for ${label ?? 'a frame'}; frames: ${this.describe()}`)),
      };
      if (this.closeInfo) waiter.onClose(this.closeInfo);
      else this.waiters.push(waiter);
    });
    return withTimeout(p, ms, `${label ?? 'a frame'}; frames so far: ${this.describe()}`).finally(() => {
      const i = this.waiters.indexOf(waiter);
      if (i >= 0) this.waiters.splice(i, 1);
    });
  }

  /** Frames received so far (event names and channels), for failure messages. */
  describe() {
    return JSON.stringify(this.rawFrames.map((r) => (r.length > 300 ? `${r.slice(0, 300)}…` : r)));
  }

  /** Frames received so far whose event matches. */
  received(pred) {
    return this.frames.filter(pred);
  }

  send(obj) {
    this.ws.send(JSON.stringify(obj));
  }

  sendRaw(text) {
    this.ws.send(text);
  }

  /**
   * Round trip: pusher:ping → pusher:pong. The server handles a connection's
   * frames in order, so once the pong is here every earlier frame of this
   * connection has been processed.
   */
  async ping(ms = DEFAULT_WAIT_MS) {
    this.send({ event: 'pusher:ping', data: {} });
    return this.next('pusher:pong', ms);
  }

  /** Sends pusher:subscribe and resolves with the reply (success or error). */
  async subscribe(channel, { auth, channel_data } = {}, ms = DEFAULT_WAIT_MS) {
    const data = { channel };
    if (auth !== undefined) data.auth = auth;
    if (channel_data !== undefined) data.channel_data = channel_data;
    this.send({ event: 'pusher:subscribe', data });
    return this.next(
      (f) =>
        (f.channel === channel &&
          ['pusher_internal:subscription_succeeded', 'pusher:subscription_error'].includes(f.event)) ||
        f.event === 'pusher:error',
      ms,
      `subscription reply for ${channel}`,
    );
  }

  /** Subscribes and asserts success. */
  async mustSubscribe(channel, opts = {}, ms = DEFAULT_WAIT_MS) {
    const reply = await this.subscribe(channel, opts, ms);
    if (reply.event !== 'pusher_internal:subscription_succeeded') {
      throw new Error(`subscribe ${channel} failed: ${JSON.stringify(reply)}`);
    }
    return reply;
  }

  terminate() {
    this.ws.terminate();
  }

  close(code, reason) {
    this.ws.close(code, reason);
    return this.closed;
  }

  get isOpen() {
    return this.ws.readyState === WebSocket.OPEN;
  }
}
