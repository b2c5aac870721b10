// Client events (whispers): delivered to the other subscribers, with user_id
// on presence, never echoed to the sender, refused on public channels, when
// the app disables them, when the sender is not subscribed, and rate limited
// per connection with error 4301.

import { describe, test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, makeApp } from './lib/server.mjs';
import {
  RawClient,
  EventLog,
  connectPusher,
  sdkFor,
  subscribed,
  waitForArgs,
  dataOf,
  uniq,
  cleanup,
} from './lib/util.mjs';

describe('client events', () => {
  const app = makeApp({ client_events: true, client_event_rate_limit: 10, max_event_payload_bytes: 10240 });
  const closed = makeApp({ client_events: false });
  let server;
  let sdk;

  before(async () => {
    server = await startServer({ apps: [app, closed] });
    sdk = sdkFor(server, app);
  });
  after(async () => {
    await cleanup();
    await server?.stop();
  });
  afterEach(cleanup);

  async function rawOn(theApp, theSdk, channel, member) {
    const c = await RawClient.connect(server.wsUrl(theApp.key));
    if (channel.startsWith('private-') || channel.startsWith('presence-')) {
      const { auth, channel_data } = theSdk.authorizeChannel(c.socketId, channel, member);
      await c.mustSubscribe(channel, { auth, channel_data });
    } else {
      await c.mustSubscribe(channel);
    }
    return c;
  }

  test('private: delivered to the other subscriber with data intact', async () => {
    const name = uniq('private-ce');
    const a = await connectPusher(server, app, { sdk });
    const b = await connectPusher(server, app, { sdk });
    const [chA] = await subscribed(a, name);
    const [chB] = await subscribed(b, name);
    const got = waitForArgs(chB, 'client-typing');
    assert.equal(chA.trigger('client-typing', { typing: true, who: 'a', n: [1, 2] }), true);
    const [data] = await got;
    assert.deepEqual(data, { typing: true, who: 'a', n: [1, 2] });
  });

  test('never echoed to the sender (marker: the other side answers)', async () => {
    const name = uniq('private-echo');
    const a = await connectPusher(server, app, { sdk });
    const b = await connectPusher(server, app, { sdk });
    const [chA] = await subscribed(a, name);
    const [chB] = await subscribed(b, name);
    const logA = new EventLog();
    chA.bind_global((ev, data) => logA.push(ev, data));
    const bGot = waitForArgs(chB, 'client-ping');
    chA.trigger('client-ping', { from: 'a' });
    await bGot;
    chB.trigger('client-pong', { from: 'b' });
    await logA.waitFor((e) => e.name === 'client-pong');
    assert.deepEqual(
      logA.names().filter((n) => n.startsWith('client-')),
      ['client-pong'],
      'sender must not receive its own client-ping',
    );
  });

  test('presence: delivered with the sender\'s user_id (metadata.user_id)', async () => {
    const name = uniq('presence-ce');
    const a = await connectPusher(server, app, { sdk, presence: { user_id: 'sender-7' } });
    const b = await connectPusher(server, app, { sdk, presence: { user_id: 'receiver-8' } });
    const [chA] = await subscribed(a, name);
    const [chB] = await subscribed(b, name);
    const got = waitForArgs(chB, 'client-hello');
    chA.trigger('client-hello', { hi: 1 });
    const [data, metadata] = await got;
    assert.deepEqual(data, { hi: 1 });
    assert.equal(metadata?.user_id, 'sender-7');
  });

  test('raw presence frame carries user_id at the top level; private frames do not', async () => {
    const pres = uniq('presence-raw-ce');
    const priv = uniq('private-raw-ce');
    const s1 = await rawOn(app, sdk, pres, { user_id: 'u-1' });
    const r1 = await rawOn(app, sdk, pres, { user_id: 'u-2' });
    s1.send({ event: 'client-x', channel: pres, data: { a: 1 } });
    const f = await r1.next((f) => f.event === 'client-x');
    assert.equal(f.user_id, 'u-1');
    assert.equal(f.channel, pres);
    assert.deepEqual(dataOf(f), { a: 1 });
    const s2 = await rawOn(app, sdk, priv);
    const r2 = await rawOn(app, sdk, priv);
    s2.send({ event: 'client-y', channel: priv, data: { b: 2 } });
    const g = await r2.next((f) => f.event === 'client-y');
    assert.equal(g.user_id, undefined, JSON.stringify(g));
    assert.deepEqual(dataOf(g), { b: 2 });
  });

  test('refused on public channels: pusher:error to the sender, nothing delivered', async () => {
    const pub = uniq('public-ce');
    const priv = uniq('private-marker');
    const sender = await rawOn(app, sdk, pub);
    const receiver = await rawOn(app, sdk, pub);
    for (const c of [sender, receiver]) {
      await c.mustSubscribe(priv, { auth: sdk.authorizeChannel(c.socketId, priv).auth });
    }
    sender.send({ event: 'client-public', channel: pub, data: { no: true } });
    await sender.next('pusher:error');
    sender.send({ event: 'client-marker', channel: priv, data: {} });
    await receiver.next((f) => f.event === 'client-marker');
    assert.equal(receiver.received((f) => f.event === 'client-public').length, 0, receiver.describe());
    assert.ok(sender.isOpen);
  });

  test('refused when the sender is not subscribed to the channel', async () => {
    const priv = uniq('private-notsub');
    const receiver = await rawOn(app, sdk, priv);
    const outsider = await RawClient.connect(server.wsUrl(app.key));
    outsider.send({ event: 'client-intruder', channel: priv, data: {} });
    await outsider.next('pusher:error');
    // Marker from a legitimate member.
    const member = await rawOn(app, sdk, priv);
    member.send({ event: 'client-marker', channel: priv, data: {} });
    await receiver.next((f) => f.event === 'client-marker');
    assert.equal(receiver.received((f) => f.event === 'client-intruder').length, 0, receiver.describe());
  });

  test('event names without the client- prefix are not relayed from clients', async () => {
    const priv = uniq('private-prefix');
    const sender = await rawOn(app, sdk, priv);
    const receiver = await rawOn(app, sdk, priv);
    sender.send({ event: 'spoofed-server-event', channel: priv, data: {} });
    sender.send({ event: 'client-marker', channel: priv, data: {} });
    await receiver.next((f) => f.event === 'client-marker');
    assert.equal(receiver.received((f) => f.event === 'spoofed-server-event').length, 0, receiver.describe());
  });

  test('refused when the app disables client events', async () => {
    const closedSdk = sdkFor(server, closed);
    const priv = uniq('private-closed');
    const sender = await rawOn(closed, closedSdk, priv);
    const receiver = await rawOn(closed, closedSdk, priv);
    sender.send({ event: 'client-blocked', channel: priv, data: {} });
    await sender.next('pusher:error');
    // Marker: a server event published after the refused client event.
    await closedSdk.trigger(priv, 'marker', {});
    await receiver.next((f) => f.event === 'marker');
    assert.equal(receiver.received((f) => f.event === 'client-blocked').length, 0, receiver.describe());
  });

  test('within the rate limit: no error, all delivered', async () => {
    const priv = uniq('private-under');
    const sender = await rawOn(app, sdk, priv);
    const receiver = await rawOn(app, sdk, priv);
    for (let i = 0; i < 5; i++) sender.send({ event: 'client-n', channel: priv, data: { i } });
    await sender.ping();
    await receiver.next((f) => f.event === 'client-n' && dataOf(f).i === 4);
    assert.equal(sender.received((f) => f.event === 'pusher:error').length, 0, sender.describe());
    assert.equal(receiver.received((f) => f.event === 'client-n').length, 5);
  });

  test('over the rate limit (10/s): pusher:error 4301 and excess not delivered', async () => {
    const priv = uniq('private-flood');
    const sender = await rawOn(app, sdk, priv);
    const receiver = await rawOn(app, sdk, priv);
    const N = 40;
    for (let i = 0; i < N; i++) sender.send({ event: 'client-flood', channel: priv, data: { i } });
    const err = await sender.next('pusher:error');
    assert.equal(dataOf(err).code, 4301, JSON.stringify(err));
    // Every flood frame has been handled once a ping round-trips (or the socket closed).
    await Promise.race([sender.ping().catch(() => {}), sender.closed]);
    await sdk.trigger(priv, 'marker', {});
    await receiver.next((f) => f.event === 'marker');
    const delivered = receiver.received((f) => f.event === 'client-flood').length;
    assert.ok(delivered < N, `delivered ${delivered} of ${N}`);
    assert.ok(delivered >= 1, 'events within the limit are still delivered');
  });

  test('client event larger than max_event_payload_bytes is refused', async () => {
    const priv = uniq('private-big');
    const sender = await rawOn(app, sdk, priv);
    const receiver = await rawOn(app, sdk, priv);
    sender.send({ event: 'client-big', channel: priv, data: { blob: 'x'.repeat(12 * 1024) } });
    await sender.next('pusher:error');
    await sdk.trigger(priv, 'marker', {});
    await receiver.next((f) => f.event === 'marker');
    assert.equal(receiver.received((f) => f.event === 'client-big').length, 0);
  });
});
