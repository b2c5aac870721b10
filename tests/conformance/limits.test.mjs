// Per-app and server-wide limits: WebSocket message size (1009), allowed
// origins (4009), max_connections (4004), disabled apps (4003), presence
// member count and user_info size.

import { describe, test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, makeApp } from './lib/server.mjs';
import { RawClient, EventLog, newPusher, sdkFor, dataOf, uniq, cleanup } from './lib/util.mjs';

const MAX_MESSAGE = 4096;

describe('limits', () => {
  const open = makeApp();
  const guarded = makeApp({ allowed_origins: ['http://allowed.test'] });
  const capped = makeApp({ max_connections: 2 });
  const capped1 = makeApp({ max_connections: 1 }); // its own app: no race with capped's closing sockets
  const disabled = makeApp({ enabled: false });
  const small = makeApp({ max_presence_members: 2, max_presence_user_info_bytes: 64 });
  let server;

  before(async () => {
    server = await startServer({
      apps: [open, guarded, capped, capped1, disabled, small],
      env: { PARLEY_MAX_MESSAGE_BYTES: String(MAX_MESSAGE) },
    });
  });
  after(async () => {
    await cleanup();
    await server?.stop();
  });
  afterEach(cleanup);

  test('message over PARLEY_MAX_MESSAGE_BYTES closes that socket with 1009, others unaffected', async () => {
    const sdk = sdkFor(server, open);
    const name = uniq('bystander');
    const bystander = await RawClient.connect(server.wsUrl(open.key));
    await bystander.mustSubscribe(name);
    const big = await RawClient.connect(server.wsUrl(open.key));
    big.send({ event: 'pusher:ping', data: { pad: 'x'.repeat(MAX_MESSAGE + 1000) } });
    const closed = await big.closed;
    assert.equal(closed.code, 1009, big.describe());
    const got = bystander.next((f) => f.event === 'after-big');
    await sdk.trigger(name, 'after-big', { ok: 1 });
    assert.deepEqual(dataOf(await got), { ok: 1 });
    assert.ok(bystander.isOpen);
  });

  test('message under the limit is fine (control)', async () => {
    const c = await RawClient.connect(server.wsUrl(open.key));
    c.send({ event: 'pusher:ping', data: { pad: 'x'.repeat(MAX_MESSAGE - 200) } });
    await c.next('pusher:pong');
    assert.ok(c.isOpen);
  });

  test('origin not in allowed_origins: 4009', async () => {
    const c = await RawClient.connect(server.wsUrl(guarded.key), { established: false, origin: 'http://evil.test' });
    const closed = await c.closed;
    assert.equal(closed.code, 4009, c.describe());
    assert.equal(c.received((f) => f.event === 'pusher:connection_established').length, 0);
    const err = c.received((f) => f.event === 'pusher:error');
    if (err.length) assert.equal(dataOf(err[0]).code, 4009);
  });

  test('allowed origin connects; an app without allowed_origins accepts any origin', async () => {
    const ok = await RawClient.connect(server.wsUrl(guarded.key), { origin: 'http://allowed.test' });
    assert.match(ok.socketId, /^\d+\.\d+$/);
    const any = await RawClient.connect(server.wsUrl(open.key), { origin: 'http://evil.test' });
    assert.match(any.socketId, /^\d+\.\d+$/);
  });

  test('max_connections exceeded: 4004 for the extra socket, the others stay', async () => {
    const a = await RawClient.connect(server.wsUrl(capped.key));
    const b = await RawClient.connect(server.wsUrl(capped.key));
    const c = await RawClient.connect(server.wsUrl(capped.key), { established: false });
    const closed = await c.closed;
    assert.equal(closed.code, 4004, c.describe());
    assert.equal(c.received((f) => f.event === 'pusher:connection_established').length, 0, c.describe());
    const err = c.received((f) => f.event === 'pusher:error');
    if (err.length) assert.equal(dataOf(err[0]).code, 4004);
    await a.ping();
    await b.ping();
    // The limit is per app: another app is not affected.
    await RawClient.connect(server.wsUrl(open.key));
  });

  test('max_connections: pusher-js over the quota gets 4004 and gives up', async () => {
    await RawClient.connect(server.wsUrl(capped1.key));
    const p = newPusher(server, capped1);
    const states = new EventLog();
    const errors = [];
    p.connection.bind('state_change', ({ current }) => states.push(current));
    p.connection.bind('error', (e) => errors.push(e));
    await states.waitFor((e) => ['disconnected', 'failed', 'unavailable'].includes(e.name), 8000, 'pusher-js to give up');
    const codes = errors.map((e) => e?.error?.data?.code ?? e?.data?.code);
    assert.ok(codes.includes(4004), JSON.stringify(errors));
  });

  test('disabled app: 4003', async () => {
    const c = await RawClient.connect(server.wsUrl(disabled.key), { established: false });
    const closed = await c.closed;
    assert.equal(closed.code, 4003, c.describe());
  });

  test('disabled app: HTTP API refuses to publish', async () => {
    const sdk = sdkFor(server, disabled);
    let st;
    try {
      st = (await sdk.trigger(uniq('x'), 'ev', {})).status;
    } catch (err) {
      st = err.status;
    }
    assert.ok([403, 404].includes(st), `status ${st}`);
  });

  test('max_presence_members: a third distinct user is refused, another socket of a member is not', async () => {
    const sdk = sdkFor(server, small);
    const name = uniq('presence-full');
    const join = async (user_id) => {
      const c = await RawClient.connect(server.wsUrl(small.key));
      const { auth, channel_data } = sdk.authorizeChannel(c.socketId, name, { user_id });
      return [c, await c.subscribe(name, { auth, channel_data })];
    };
    const [, r1] = await join('m1');
    const [, r2] = await join('m2');
    assert.equal(r1.event, 'pusher_internal:subscription_succeeded');
    assert.equal(r2.event, 'pusher_internal:subscription_succeeded');
    const [c3, r3] = await join('m3');
    assert.notEqual(r3.event, 'pusher_internal:subscription_succeeded', JSON.stringify(r3));
    assert.ok(['pusher:subscription_error', 'pusher:error'].includes(r3.event), JSON.stringify(r3));
    const [, r4] = await join('m1');
    assert.equal(r4.event, 'pusher_internal:subscription_succeeded', 'a second socket of a member is no new member');
    if (c3.isOpen) await c3.ping();
  });

  test('max_presence_user_info_bytes: oversized user_info refused, small accepted', async () => {
    const sdk = sdkFor(server, small);
    const name = uniq('presence-info');
    const c = await RawClient.connect(server.wsUrl(small.key));
    const okData = sdk.authorizeChannel(c.socketId, name, { user_id: 'fits', user_info: { n: 'short' } });
    await c.mustSubscribe(name, okData);
    const other = uniq('presence-info');
    const d = await RawClient.connect(server.wsUrl(small.key));
    const bigData = sdk.authorizeChannel(d.socketId, other, { user_id: 'big', user_info: { n: 'x'.repeat(200) } });
    const reply = await d.subscribe(other, bigData);
    assert.notEqual(reply.event, 'pusher_internal:subscription_succeeded', JSON.stringify(reply));
  });
});
