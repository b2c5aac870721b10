// Handshake, socket ids, unknown app keys, malformed frames, health and
// metrics endpoints, and the single-app REVERB_APP_* configuration.

import { describe, test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, makeApp } from './lib/server.mjs';
import {
  RawClient,
  EventLog,
  connectPusher,
  newPusher,
  sdkFor,
  subscribed,
  waitFor,
  dataOf,
  uniq,
  cleanup,
  http,
} from './lib/util.mjs';

const SOCKET_ID = /^\d+\.\d+$/;

describe('connection', () => {
  const app = makeApp();
  let server;
  let sdk;

  before(async () => {
    server = await startServer({ apps: [app] });
    sdk = sdkFor(server, app);
  });
  after(async () => {
    await cleanup();
    await server?.stop();
  });
  afterEach(cleanup);

  test('handshake: first frame is connection_established with a JSON-string data', async () => {
    const c = await RawClient.connect(server.wsUrl(app.key));
    const first = c.frames[0];
    assert.equal(first.event, 'pusher:connection_established');
    assert.equal(typeof first.data, 'string', 'data must be a JSON-encoded string, as Pusher sends it');
    const d = JSON.parse(first.data);
    assert.match(d.socket_id, SOCKET_ID);
    assert.equal(typeof d.activity_timeout, 'number');
    assert.equal(d.activity_timeout, 120, 'default activity_timeout is 120 s');
  });

  test('socket ids are unique per connection', async () => {
    const ids = new Set();
    for (let i = 0; i < 5; i++) {
      const c = await RawClient.connect(server.wsUrl(app.key));
      assert.match(c.socketId, SOCKET_ID);
      ids.add(c.socketId);
    }
    assert.equal(ids.size, 5);
  });

  test('handshake works without a query string (protocol inferred)', async () => {
    const c = await RawClient.connect(server.wsUrl(app.key, ''));
    assert.match(c.socketId, SOCKET_ID);
  });

  test('pusher-js connects and reports a well-formed socket_id', async () => {
    const p = await connectPusher(server, app);
    assert.equal(p.connection.state, 'connected');
    assert.match(p.connection.socket_id, SOCKET_ID);
  });

  test('unknown app key: pusher:error 4001 then close 4001 (raw frames)', async () => {
    const c = await RawClient.connect(server.wsUrl('no-such-key'), { established: false });
    const err = await c.next('pusher:error');
    const d = dataOf(err);
    assert.equal(d.code, 4001, `error frame: ${JSON.stringify(err)}`);
    assert.equal(typeof d.message, 'string');
    const closed = await c.closed;
    assert.equal(closed.code, 4001);
    assert.equal(
      c.received((f) => f.event === 'pusher:connection_established').length,
      0,
      'no connection_established for an unknown key',
    );
  });

  test('unknown app key: pusher-js gets error 4001 and does not reconnect', async () => {
    const bad = newPusher(server, { key: 'no-such-key' });
    const states = new EventLog();
    bad.connection.bind('state_change', ({ current }) => states.push(current));
    const errors = [];
    bad.connection.bind('error', (e) => errors.push(e));
    const settled = await states.waitFor(
      (e) => ['disconnected', 'failed', 'unavailable'].includes(e.name),
      8000,
      'pusher-js to give up',
    );
    const codes = errors.map((e) => e?.error?.data?.code ?? e?.data?.code);
    assert.ok(codes.includes(4001), `errors seen: ${JSON.stringify(errors)}`);
    // Marker: a good client connects and round-trips an event. A client that
    // had been told to retry (42xx) would have gone back to `connecting` at once.
    const good = await connectPusher(server, app);
    const name = uniq('marker');
    const [ch] = await subscribed(good, name);
    const got = waitFor(ch, 'marker');
    await sdk.trigger(name, 'marker', { ok: 1 });
    await got;
    const after = states.entries.slice(states.entries.indexOf(settled) + 1).map((e) => e.name);
    assert.ok(!after.includes('connecting'), `state changes after giving up: ${JSON.stringify(states.names())}`);
    assert.notEqual(bad.connection.state, 'connected');
  });

  test('client pusher:ping gets pusher:pong', async () => {
    const c = await RawClient.connect(server.wsUrl(app.key));
    const pong = await c.ping();
    assert.equal(pong.event, 'pusher:pong');
  });

  test('malformed JSON frame: pusher:error, connection stays open and usable', async () => {
    const c = await RawClient.connect(server.wsUrl(app.key));
    c.sendRaw('{"event": "pusher:subscribe", "data": {"channel": ');
    const err = await c.next('pusher:error');
    assert.ok(dataOf(err) && typeof dataOf(err) === 'object', `error frame: ${JSON.stringify(err)}`);
    // Still open: ping and a public subscription work afterwards.
    await c.ping();
    const name = uniq('after-bad-json');
    await c.mustSubscribe(name);
    const got = c.next((f) => f.channel === name && f.event === 'still-here');
    await sdk.trigger(name, 'still-here', { n: 1 });
    assert.deepEqual(dataOf(await got), { n: 1 });
    assert.ok(c.isOpen);
  });

  test('well-formed frames produce no pusher:error (control for the malformed case)', async () => {
    const c = await RawClient.connect(server.wsUrl(app.key));
    await c.mustSubscribe(uniq('fine'));
    await c.ping();
    assert.equal(c.received((f) => f.event === 'pusher:error').length, 0, c.describe());
  });

  test('frame that is JSON but not an object (array / missing event): pusher:error, stays open', async () => {
    const c = await RawClient.connect(server.wsUrl(app.key));
    c.sendRaw('[1,2,3]');
    await c.next('pusher:error');
    c.sendRaw('{"data":{}}');
    await c.next('pusher:error');
    await c.ping();
    assert.ok(c.isOpen);
  });

  test('GET /up → 200', async () => {
    const r = await http(server, 'GET', '/up');
    assert.equal(r.status, 200);
  });

  test('GET /metrics → OpenMetrics text', async () => {
    // Open a connection first so there is something to count. The Python part parses the whole
    // output with Prometheus' own parsers (python/test_metrics.py).
    await RawClient.connect(server.wsUrl(app.key));
    const r = await http(server, 'GET', '/metrics');
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /^application\/openmetrics-text; version=1\.0\.0/);
    assert.match(r.text, /^# (HELP|TYPE) \w+/m, 'Prometheus exposition format');
    assert.match(r.text, /# EOF\n$/);
  });

  test('unknown route → 404', async () => {
    const r = await http(server, 'GET', `/definitely-not-a-route-${uniq()}`);
    assert.equal(r.status, 404);
  });
});

describe('single app from REVERB_APP_* environment', () => {
  let server;
  const env = {
    REVERB_APP_ID: '770011',
    REVERB_APP_KEY: 'env-key',
    REVERB_APP_SECRET: 'env-secret',
  };
  const app = { id: env.REVERB_APP_ID, key: env.REVERB_APP_KEY, secret: env.REVERB_APP_SECRET };

  before(async () => {
    server = await startServer({ env });
  });
  after(async () => {
    await cleanup();
    await server?.stop();
  });
  afterEach(cleanup);

  test('the env app accepts connections and HTTP publishes', async () => {
    const sdk = sdkFor(server, app);
    const p = await connectPusher(server, app);
    const name = uniq('env');
    const [ch] = await subscribed(p, name);
    const got = waitFor(ch, 'hello');
    await sdk.trigger(name, 'hello', { from: 'env' });
    assert.deepEqual(await got, { from: 'env' });
  });

  test('another key is refused with 4001 on the env-configured server', async () => {
    const c = await RawClient.connect(server.wsUrl('key-of-nobody'), { established: false });
    const closed = await c.closed;
    assert.equal(closed.code, 4001);
  });
});
