// Public channels: subscribe, receive HTTP-published events intact,
// unsubscribe, socket_id exclusion (toOthers), cache channels, name checks.

import { describe, test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, makeApp } from './lib/server.mjs';
import {
  RawClient,
  EventLog,
  connectPusher,
  sdkFor,
  subscribed,
  waitFor,
  dataOf,
  uniq,
  cleanup,
} from './lib/util.mjs';

describe('public channels', () => {
  const app = makeApp({ max_channel_name_length: 200 });
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

  test('raw subscribe: subscription_succeeded names the channel', async () => {
    const c = await RawClient.connect(server.wsUrl(app.key));
    const name = uniq('pub');
    const reply = await c.subscribe(name, { auth: '' });
    assert.equal(reply.event, 'pusher_internal:subscription_succeeded', JSON.stringify(reply));
    assert.equal(reply.channel, name);
  });

  test('node SDK trigger reaches a pusher-js subscriber with data intact', async () => {
    const p = await connectPusher(server, app);
    const name = uniq('pub');
    const [ch] = await subscribed(p, name);
    const payload = {
      text: 'héllo wörld ✓ 🎉 "quoted" \\ back\nslash',
      n: 42,
      f: 1.5,
      neg: -7,
      nested: { a: [1, 2, { b: null }], t: true, e: '' },
    };
    const got = waitFor(ch, 'my-event');
    await sdk.trigger(name, 'my-event', payload);
    assert.deepEqual(await got, payload);
  });

  test('raw frame shape: data is the published JSON string, verbatim', async () => {
    const c = await RawClient.connect(server.wsUrl(app.key));
    const name = uniq('pub');
    await c.mustSubscribe(name);
    const published = '{"z":1,"a":"x y","u":"\\u00e9"}';
    const got = c.next((f) => f.event === 'shape' && f.channel === name);
    await sdk.trigger(name, 'shape', published);
    const f = await got;
    assert.equal(typeof f.data, 'string');
    assert.equal(f.data, published, 'the server forwards the string it was given');
  });

  test('a non-JSON string payload is delivered as that string', async () => {
    const p = await connectPusher(server, app);
    const name = uniq('pub');
    const [ch] = await subscribed(p, name);
    const got = waitFor(ch, 'plain');
    await sdk.trigger(name, 'plain', 'just some text');
    assert.equal(await got, 'just some text');
  });

  test('one trigger to several channels reaches each of them', async () => {
    const p = await connectPusher(server, app);
    const names = [uniq('m1'), uniq('m2'), uniq('m3')];
    const chans = [];
    for (const n of names) chans.push((await subscribed(p, n))[0]);
    const got = chans.map((ch) => waitFor(ch, 'multi'));
    await sdk.trigger(names, 'multi', { all: true });
    for (const g of got) assert.deepEqual(await g, { all: true });
  });

  test('an event is not delivered to a socket not subscribed to that channel', async () => {
    const c = await RawClient.connect(server.wsUrl(app.key));
    const mine = uniq('mine');
    const other = uniq('other');
    await c.mustSubscribe(mine);
    await sdk.trigger(other, 'not-for-me', { x: 1 });
    await sdk.trigger(mine, 'marker', { x: 2 });
    await c.next((f) => f.event === 'marker');
    assert.equal(c.received((f) => f.event === 'not-for-me').length, 0, c.describe());
  });

  test('no events after unsubscribe; unsubscribe is idempotent', async () => {
    const c = await RawClient.connect(server.wsUrl(app.key));
    const gone = uniq('gone');
    const kept = uniq('kept');
    await c.mustSubscribe(gone);
    await c.mustSubscribe(kept);
    c.send({ event: 'pusher:unsubscribe', data: { channel: gone } });
    c.send({ event: 'pusher:unsubscribe', data: { channel: gone } });
    await c.ping(); // both unsubscribes processed
    await sdk.trigger(gone, 'after-unsub', {});
    await sdk.trigger(kept, 'marker', {});
    await c.next((f) => f.event === 'marker' && f.channel === kept);
    assert.equal(c.received((f) => f.event === 'after-unsub').length, 0, c.describe());
    assert.equal(c.received((f) => f.event === 'pusher:error').length, 0, 'repeated unsubscribe is not an error');
  });

  test('subscribing twice to the same channel delivers each event once', async () => {
    const c = await RawClient.connect(server.wsUrl(app.key));
    const name = uniq('twice');
    await c.mustSubscribe(name);
    c.send({ event: 'pusher:subscribe', data: { channel: name, auth: '' } });
    await c.ping();
    await sdk.trigger(name, 'once', { n: 1 });
    await sdk.trigger(name, 'marker', {});
    await c.next((f) => f.event === 'marker');
    assert.equal(c.received((f) => f.event === 'once').length, 1, c.describe());
  });

  test('toOthers: socket_id excludes that socket only', async () => {
    const a = await connectPusher(server, app);
    const b = await connectPusher(server, app);
    const name = uniq('to-others');
    const [chA] = await subscribed(a, name);
    const [chB] = await subscribed(b, name);
    const logA = new EventLog();
    const logB = new EventLog();
    chA.bind_global((ev, data) => logA.push(ev, data));
    chB.bind_global((ev, data) => logB.push(ev, data));
    await sdk.trigger(name, 'from-a', { by: 'a' }, { socket_id: a.connection.socket_id });
    await sdk.trigger(name, 'marker', { m: 1 });
    await logA.waitFor((e) => e.name === 'marker');
    await logB.waitFor((e) => e.name === 'marker');
    assert.deepEqual(
      logA.names().filter((n) => !n.startsWith('pusher')),
      ['marker'],
      'the excluded socket gets only the marker',
    );
    assert.deepEqual(logB.names().filter((n) => !n.startsWith('pusher')), ['from-a', 'marker']);
  });

  test('channel names with every allowed character work', async () => {
    const c = await RawClient.connect(server.wsUrl(app.key));
    const name = `${uniq('Aa0')}_-=@,.;`;
    await c.mustSubscribe(name);
    const got = c.next((f) => f.event === 'chars' && f.channel === name);
    await sdk.trigger(name, 'chars', {});
    await got;
  });

  test('over-long channel name (201 chars) is refused, 200 is accepted', async () => {
    const c = await RawClient.connect(server.wsUrl(app.key));
    const ok = 'a'.repeat(190) + uniq('x').slice(-10);
    assert.equal(ok.length, 200);
    await c.mustSubscribe(ok);
    const tooLong = ok + 'b';
    const reply = await c.subscribe(tooLong);
    assert.notEqual(reply.event, 'pusher_internal:subscription_succeeded', JSON.stringify(reply));
    assert.ok(['pusher:error', 'pusher:subscription_error'].includes(reply.event), JSON.stringify(reply));
  });

  test('channel name with a forbidden character is refused', async () => {
    const c = await RawClient.connect(server.wsUrl(app.key));
    const reply = await c.subscribe(`bad name ${uniq()}`);
    assert.notEqual(reply.event, 'pusher_internal:subscription_succeeded', JSON.stringify(reply));
  });
});

describe('cache channels', () => {
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

  test('empty cache channel: subscription_succeeded then pusher:cache_miss', async () => {
    const c = await RawClient.connect(server.wsUrl(app.key));
    const name = uniq('cache-empty');
    await c.mustSubscribe(name);
    const miss = await c.next((f) => f.event === 'pusher:cache_miss');
    assert.equal(miss.channel, name);
  });

  test('pusher-js sees pusher:cache_miss on an empty cache channel', async () => {
    const p = await connectPusher(server, app);
    const name = uniq('cache-js');
    const ch = p.subscribe(name);
    await waitFor(ch, 'pusher:cache_miss');
  });

  test('last event is replayed to a new subscriber, and no cache_miss then', async () => {
    const name = uniq('cache-full');
    await sdk.trigger(name, 'state', { v: 1 });
    await sdk.trigger(name, 'state', { v: 2 });
    const c = await RawClient.connect(server.wsUrl(app.key));
    await c.mustSubscribe(name);
    const replay = await c.next((f) => f.channel === name && f.event !== 'pusher_internal:subscription_succeeded');
    assert.equal(replay.event, 'state', `first frame after subscribe: ${JSON.stringify(replay)}`);
    assert.deepEqual(dataOf(replay), { v: 2 }, 'only the last event is cached');
    await c.ping();
    assert.equal(c.received((f) => f.event === 'pusher:cache_miss').length, 0, c.describe());
    assert.equal(c.received((f) => f.event === 'state').length, 1, c.describe());
  });

  test('cache replay works with pusher-js on private-cache- too', async () => {
    const name = uniq('private-cache-x');
    await sdk.trigger(name, 'state', { v: 'private' });
    const p = await connectPusher(server, app, { sdk });
    const ch = p.subscribe(name);
    assert.deepEqual(await waitFor(ch, 'state'), { v: 'private' });
  });

  test('a non-cache channel never sends cache_miss', async () => {
    const c = await RawClient.connect(server.wsUrl(app.key));
    const name = uniq('plain');
    await c.mustSubscribe(name);
    await c.ping();
    assert.equal(c.received((f) => f.event === 'pusher:cache_miss').length, 0, c.describe());
  });
});
