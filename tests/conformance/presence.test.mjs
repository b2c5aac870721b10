// Presence channels: the member list includes the subscriber, members are
// deduplicated by user_id, member_added fires only on a user's first socket
// and member_removed only after their last.

import { describe, test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, makeApp } from './lib/server.mjs';
import {
  RawClient,
  connectPusher,
  sdkFor,
  subscribed,
  subscriptionError,
  waitFor,
  dataOf,
  uniq,
  cleanup,
} from './lib/util.mjs';

describe('presence channels', () => {
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

  async function rawJoin(name, member) {
    const c = await RawClient.connect(server.wsUrl(app.key));
    const { auth, channel_data } = sdk.authorizeChannel(c.socketId, name, member);
    const ok = await c.mustSubscribe(name, { auth, channel_data });
    return [c, ok];
  }
  const isMember = (ev) => (f) => f.event === `pusher_internal:member_${ev}`;

  test('pusher-js: the member list includes self', async () => {
    const name = uniq('presence-self');
    const p = await connectPusher(server, app, { sdk, presence: { user_id: 'alice', user_info: { name: 'Alice' } } });
    const [ch, members] = await subscribed(p, name);
    assert.equal(members.count, 1);
    assert.equal(members.me.id, 'alice');
    assert.deepEqual(members.me.info, { name: 'Alice' });
    assert.deepEqual(ch.members.get('alice').info, { name: 'Alice' });
  });

  test('raw: subscription_succeeded carries presence {ids, hash, count} as a JSON string', async () => {
    const name = uniq('presence-raw');
    await rawJoin(name, { user_id: 'u1', user_info: { n: 1 } });
    const [, ok] = await rawJoin(name, { user_id: 'u2', user_info: { n: 2 } });
    assert.equal(typeof ok.data, 'string', JSON.stringify(ok));
    const { presence } = JSON.parse(ok.data);
    assert.deepEqual([...presence.ids].sort(), ['u1', 'u2']);
    assert.equal(presence.count, 2);
    assert.deepEqual(presence.hash, { u1: { n: 1 }, u2: { n: 2 } });
  });

  test('second subscriber sees the first; first gets member_added with user_info', async () => {
    const name = uniq('presence-two');
    const a = await connectPusher(server, app, { sdk, presence: { user_id: 'a', user_info: { role: 'agent' } } });
    const [chA] = await subscribed(a, name);
    const added = waitFor(chA, 'pusher:member_added');
    const b = await connectPusher(server, app, { sdk, presence: { user_id: 'b', user_info: { role: 'visitor' } } });
    const [, membersB] = await subscribed(b, name);
    const m = await added;
    assert.equal(m.id, 'b');
    assert.deepEqual(m.info, { role: 'visitor' });
    assert.equal(membersB.count, 2);
    assert.deepEqual(membersB.get('a').info, { role: 'agent' });
    assert.equal(chA.members.count, 2);
  });

  test('member_removed reaches the others when a member disconnects', async () => {
    const name = uniq('presence-leave');
    const a = await connectPusher(server, app, { sdk, presence: { user_id: 'stay' } });
    const [chA] = await subscribed(a, name);
    const b = await connectPusher(server, app, { sdk, presence: { user_id: 'go' } });
    await subscribed(b, name);
    await waitFor(chA, 'pusher:member_added');
    const removed = waitFor(chA, 'pusher:member_removed');
    b.disconnect();
    assert.equal((await removed).id, 'go');
    assert.equal(chA.members.count, 1);
  });

  test('members are deduplicated by user_id across two sockets of the same user', async () => {
    const name = uniq('presence-dedupe');
    await rawJoin(name, { user_id: 'same', user_info: { tab: 1 } });
    await rawJoin(name, { user_id: 'same', user_info: { tab: 2 } });
    const [, ok] = await rawJoin(name, { user_id: 'watcher' });
    const { presence } = JSON.parse(ok.data);
    assert.deepEqual([...presence.ids].sort(), ['same', 'watcher'], JSON.stringify(presence));
    assert.equal(presence.count, 2);
  });

  test('member_added only on a user\'s first socket', async () => {
    const name = uniq('presence-first');
    const [obs] = await rawJoin(name, { user_id: 'observer' });
    await rawJoin(name, { user_id: 'multi' });
    const first = await obs.next(isMember('added'));
    assert.equal(dataOf(first).user_id, 'multi');
    await rawJoin(name, { user_id: 'multi' }); // second socket of the same user
    await rawJoin(name, { user_id: 'marker' });
    const next = await obs.next(isMember('added'));
    assert.equal(dataOf(next).user_id, 'marker', `member events seen: ${obs.describe()}`);
  });

  test('member_removed only after a user\'s last socket leaves', async () => {
    const name = uniq('presence-last');
    const [obs] = await rawJoin(name, { user_id: 'observer' });
    const [m1] = await rawJoin(name, { user_id: 'multi' });
    const [m2] = await rawJoin(name, { user_id: 'multi' });
    const [mk] = await rawJoin(name, { user_id: 'marker' });
    // First socket of `multi` leaves (unsubscribe, then a round trip proves it was handled).
    m1.send({ event: 'pusher:unsubscribe', data: { channel: name } });
    await m1.ping();
    // The marker user leaves next: the observer's first member_removed must be theirs.
    mk.send({ event: 'pusher:unsubscribe', data: { channel: name } });
    const r1 = await obs.next(isMember('removed'));
    assert.equal(dataOf(r1).user_id, 'marker', `frames: ${obs.describe()}`);
    // Now the last socket of `multi` goes away (a disconnect this time).
    m2.terminate();
    const r2 = await obs.next(isMember('removed'));
    assert.equal(dataOf(r2).user_id, 'multi');
  });

  test('the joining socket does not get its own member_added', async () => {
    const name = uniq('presence-own');
    const [self] = await rawJoin(name, { user_id: 'me' });
    const [obs] = await rawJoin(name, { user_id: 'other' });
    await obs.ping();
    assert.equal(obs.received(isMember('added')).length, 0, obs.describe());
    const added = await self.next(isMember('added'));
    assert.equal(dataOf(added).user_id, 'other');
  });

  test('HTTP-published events reach presence members', async () => {
    const name = uniq('presence-events');
    const p = await connectPusher(server, app, { sdk, presence: { user_id: 'x' } });
    const [ch] = await subscribed(p, name);
    const got = waitFor(ch, 'news');
    await sdk.trigger(name, 'news', { headline: 'hi' });
    assert.deepEqual(await got, { headline: 'hi' });
  });

  test('numeric user_id (as Laravel sends) is accepted and listed', async () => {
    const name = uniq('presence-num');
    const p = await connectPusher(server, app, { sdk, presence: { user_id: 42, user_info: { name: 'N' } } });
    const [ch] = await subscribed(p, name);
    assert.equal(ch.members.count, 1);
    assert.deepEqual(ch.members.get('42')?.info, { name: 'N' });
  });

  test('bad signature on presence: AuthError 401, connection stays', async () => {
    const wrong = sdkFor(server, app, { secret: 'wrong' });
    const p = await connectPusher(server, app, { sdk: wrong, presence: { user_id: 'nope' } });
    const err = await subscriptionError(p, uniq('presence-bad'));
    assert.equal(err.type, 'AuthError');
    assert.equal(err.status, 401);
    assert.equal(p.connection.state, 'connected');
  });

  test('raw: channel_data differing from what was signed is refused', async () => {
    const c = await RawClient.connect(server.wsUrl(app.key));
    const name = uniq('presence-tamper');
    const { auth } = sdk.authorizeChannel(c.socketId, name, { user_id: 'honest' });
    const reply = await c.subscribe(name, { auth, channel_data: JSON.stringify({ user_id: 'admin' }) });
    assert.equal(reply.event, 'pusher:subscription_error', JSON.stringify(reply));
    assert.equal(dataOf(reply).status, 401);
  });

  test('raw: presence subscribe without channel_data is refused', async () => {
    const c = await RawClient.connect(server.wsUrl(app.key));
    const name = uniq('presence-nodata');
    const { auth } = sdk.authorizeChannel(c.socketId, name);
    const reply = await c.subscribe(name, { auth });
    assert.notEqual(reply.event, 'pusher_internal:subscription_succeeded', JSON.stringify(reply));
    await c.ping();
    assert.ok(c.isOpen);
  });
});
