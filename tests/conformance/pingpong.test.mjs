// Keep-alive: with PARLEY_ACTIVITY_TIMEOUT=1 the server pings after silence
// and closes a socket that never answers with 4201, while pusher-js (which
// answers) stays connected. Also the handshake timeout for sockets that never
// complete the WebSocket upgrade.

import { describe, test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { connect as tcpConnect } from 'node:net';
import { startServer, makeApp } from './lib/server.mjs';
import { RawClient, EventLog, connectPusher, sdkFor, subscribed, waitFor, withTimeout, uniq, cleanup } from './lib/util.mjs';

const ACTIVITY_S = 1;
const PONG_S = 1;
const HANDSHAKE_S = 1;
// Generous upper bound for "ping, then close": activity + pong timeouts plus scheduling slack.
const CLOSE_WITHIN_MS = (ACTIVITY_S + PONG_S) * 1000 + 4000;

describe('ping / pong and inactivity', () => {
  const app = makeApp();
  let server;
  let sdk;

  before(async () => {
    server = await startServer({
      apps: [app],
      env: {
        PARLEY_ACTIVITY_TIMEOUT: String(ACTIVITY_S),
        PARLEY_PONG_TIMEOUT: String(PONG_S),
        PARLEY_HANDSHAKE_TIMEOUT: String(HANDSHAKE_S),
      },
    });
    sdk = sdkFor(server, app);
  });
  after(async () => {
    await cleanup();
    await server?.stop();
  });
  afterEach(cleanup);

  test('handshake advertises the configured activity_timeout', async () => {
    const c = await RawClient.connect(server.wsUrl(app.key), { answerPings: true });
    assert.equal(c.activityTimeout, ACTIVITY_S);
  });

  test('silent client: server sends pusher:ping, then closes with 4201', async () => {
    const t0 = Date.now();
    const c = await RawClient.connect(server.wsUrl(app.key), { autoPong: false });
    const ping = await c.next('pusher:ping', CLOSE_WITHIN_MS);
    assert.ok(ping, 'server pinged after silence');
    const closed = await withTimeout(c.closed, CLOSE_WITHIN_MS, 'close after unanswered ping');
    assert.equal(closed.code, 4201, c.describe());
    assert.ok(Date.now() - t0 >= ACTIVITY_S * 1000, 'not closed before the activity timeout');
    const pingIdx = c.frames.findIndex((f) => f.event === 'pusher:ping');
    assert.ok(pingIdx >= 0, 'the close was preceded by a pusher:ping');
  });

  test('a client that answers pusher:ping stays open while a silent one is closed', async () => {
    const polite = await RawClient.connect(server.wsUrl(app.key), { answerPings: true, autoPong: false });
    const silent = await RawClient.connect(server.wsUrl(app.key), { autoPong: false });
    await withTimeout(silent.closed, CLOSE_WITHIN_MS, 'silent client closed');
    assert.equal(silent.closeInfo.code, 4201);
    // By now the polite client went through the same timers at least once.
    await polite.next('pusher:ping', CLOSE_WITHIN_MS);
    assert.ok(polite.isOpen, polite.describe());
    await polite.ping();
    const name = uniq('alive');
    await polite.mustSubscribe(name);
    const got = polite.next((f) => f.event === 'still');
    await sdk.trigger(name, 'still', {});
    await got;
  });

  test('pusher-js stays connected (same socket id) across several activity timeouts', async () => {
    const p = await connectPusher(server, app);
    const socketId = p.connection.socket_id;
    const states = new EventLog();
    p.connection.bind('state_change', ({ current }) => states.push(current));
    const name = uniq('js-alive');
    const [ch] = await subscribed(p, name);
    // Marker for elapsed time: a silent raw client opened now gets closed only after
    // activity + pong timeouts; wait for that twice over.
    for (let i = 0; i < 2; i++) {
      const silent = await RawClient.connect(server.wsUrl(app.key), { autoPong: false });
      await withTimeout(silent.closed, CLOSE_WITHIN_MS, 'silent marker client closed');
      assert.equal(silent.closeInfo.code, 4201);
    }
    assert.equal(p.connection.state, 'connected');
    assert.equal(p.connection.socket_id, socketId);
    assert.deepEqual(states.names(), [], 'no reconnects');
    const got = waitFor(ch, 'after-idle');
    await sdk.trigger(name, 'after-idle', { ok: true });
    assert.deepEqual(await got, { ok: true });
  });

  test('server answers WebSocket ping control frames', async () => {
    const c = await RawClient.connect(server.wsUrl(app.key), { answerPings: true });
    const pong = new Promise((res) => c.ws.once('pong', (data) => res(data.toString())));
    c.ws.ping('are-you-there');
    assert.equal(await withTimeout(pong, 5000, 'WS pong'), 'are-you-there');
  });

  test('a TCP connection that never sends the upgrade request is closed (handshake timeout)', async () => {
    // Control: a WebSocket that completed its upgrade before is not affected.
    const ws = await RawClient.connect(server.wsUrl(app.key), { answerPings: true });
    const sock = tcpConnect(server.port, server.host);
    sock.on('error', () => {});
    await waitFor(sock, 'connect');
    const t0 = Date.now();
    await withTimeout(
      new Promise((res) => sock.once('close', res)),
      HANDSHAKE_S * 1000 + 5000,
      'server to drop the idle TCP connection',
    );
    assert.ok(Date.now() - t0 >= HANDSHAKE_S * 1000 * 0.8, `closed after ${Date.now() - t0} ms`);
    assert.ok(ws.isOpen);
    await ws.ping();
  });
});
