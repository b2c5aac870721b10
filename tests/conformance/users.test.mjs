// User authentication (pusher:signin), sendToUser, the #server-to-user guard,
// watchlist online/offline events, and terminate_connections.

import { describe, test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, makeApp } from './lib/server.mjs';
import {
  RawClient,
  EventLog,
  newPusher,
  connectPusher,
  sdkFor,
  subscribed,
  waitFor,
  dataOf,
  uniq,
  cleanup,
} from './lib/util.mjs';

describe('user authentication and server-to-user', () => {
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

  /** pusher-js signed in as `user` (via node SDK authenticateUser), #server-to-user subscribed. */
  async function signedIn(user) {
    const p = newPusher(server, app, { sdk, user });
    const ok = waitFor(p.connection, 'message', 5000, (e) => e.event === 'pusher:signin_success');
    p.signin();
    await ok;
    const ch = p.user.serverToUserChannel;
    assert.ok(ch, `pusher-js accepted the signin (user_data ${JSON.stringify(p.user.user_data)})`);
    if (!ch.subscribed) await waitFor(ch, 'pusher:subscription_succeeded');
    return p;
  }

  async function rawSignin(user) {
    const c = await RawClient.connect(server.wsUrl(app.key));
    const { auth, user_data } = sdk.authenticateUser(c.socketId, user);
    c.send({ event: 'pusher:signin', data: { auth, user_data } });
    const ok = await c.next((f) => f.event === 'pusher:signin_success' || f.event === 'pusher:error');
    assert.equal(ok.event, 'pusher:signin_success', JSON.stringify(ok));
    return [c, ok, user_data];
  }

  test('raw signin: signin_success echoes the signed user_data', async () => {
    const [, ok, userData] = await rawSignin({ id: 'alice', user_info: { name: 'Alice' } });
    assert.equal(dataOf(ok).user_data, userData);
  });

  test('pusher.signin() with a customHandler signs in and subscribes #server-to-user-{id}', async () => {
    const p = await signedIn({ id: 'alice-js', user_info: { name: 'A' } });
    assert.equal(p.user.user_data.id, 'alice-js');
    assert.equal(p.user.serverToUserChannel.name, '#server-to-user-alice-js');
  });

  test('signin with a bad signature: pusher:error 4009', async () => {
    const c = await RawClient.connect(server.wsUrl(app.key));
    const wrong = sdkFor(server, app, { secret: 'wrong' });
    const { auth, user_data } = wrong.authenticateUser(c.socketId, { id: 'mallory' });
    c.send({ event: 'pusher:signin', data: { auth, user_data } });
    const f = await c.next((f) => f.event === 'pusher:signin_success' || f.event === 'pusher:error');
    assert.equal(f.event, 'pusher:error', JSON.stringify(f));
    assert.equal(dataOf(f).code, 4009, JSON.stringify(f));
  });

  test('signin whose user_data has no id is refused', async () => {
    const c = await RawClient.connect(server.wsUrl(app.key));
    const user_data = JSON.stringify({ user_info: { name: 'nobody' } });
    const auth = `${app.key}:${sdk.config.token.sign(`${c.socketId}::user::${user_data}`)}`;
    c.send({ event: 'pusher:signin', data: { auth, user_data } });
    const f = await c.next((f) => f.event === 'pusher:signin_success' || f.event === 'pusher:error');
    assert.equal(f.event, 'pusher:error', JSON.stringify(f));
  });

  test('sendToUser reaches every socket of that user and nobody else', async () => {
    const a1 = await signedIn({ id: 'ann' });
    const a2 = await signedIn({ id: 'ann' });
    const b = await signedIn({ id: 'ben' });
    const logB = new EventLog();
    b.user.bind_global((ev, data) => logB.push(ev, data));
    const got1 = waitFor(a1.user, 'notice');
    const got2 = waitFor(a2.user, 'notice');
    await sdk.sendToUser('ann', 'notice', { for: 'ann' });
    assert.deepEqual(await got1, { for: 'ann' });
    assert.deepEqual(await got2, { for: 'ann' });
    await sdk.sendToUser('ben', 'marker', { for: 'ben' });
    await logB.waitFor((e) => e.name === 'marker');
    assert.deepEqual(logB.names(), ['marker'], 'ben only gets his own event');
  });

  test('subscribing to #server-to-user-X without being signed in is refused', async () => {
    const c = await RawClient.connect(server.wsUrl(app.key));
    const marker = uniq('marker');
    await c.mustSubscribe(marker);
    const reply = await c.subscribe('#server-to-user-victim');
    assert.notEqual(reply.event, 'pusher_internal:subscription_succeeded', JSON.stringify(reply));
    await sdk.sendToUser('victim', 'private-note', { secret: 1 });
    await sdk.trigger(marker, 'marker', {});
    await c.next((f) => f.event === 'marker');
    assert.equal(c.received((f) => f.event === 'private-note').length, 0, c.describe());
  });

  test('subscribing to #server-to-user-X while signed in as Y is refused', async () => {
    const [c] = await rawSignin({ id: 'eve' });
    const marker = uniq('marker');
    await c.mustSubscribe(marker);
    const reply = await c.subscribe('#server-to-user-victim2');
    assert.notEqual(reply.event, 'pusher_internal:subscription_succeeded', JSON.stringify(reply));
    await sdk.sendToUser('victim2', 'private-note', { secret: 2 });
    await sdk.trigger(marker, 'marker', {});
    await c.next((f) => f.event === 'marker');
    assert.equal(c.received((f) => f.event === 'private-note').length, 0, c.describe());
  });

  test('subscribing to your own #server-to-user channel succeeds (raw)', async () => {
    const [c] = await rawSignin({ id: 'owner' });
    await c.mustSubscribe('#server-to-user-owner');
    const got = c.next((f) => f.event === 'mine');
    await sdk.sendToUser('owner', 'mine', { ok: true });
    const f = await got;
    assert.equal(f.channel, '#server-to-user-owner');
    assert.deepEqual(dataOf(f), { ok: true });
  });
});

describe('watchlist', () => {
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

  async function signedIn(user) {
    const p = newPusher(server, app, { sdk, user });
    const ok = waitFor(p.connection, 'message', 5000, (e) => e.event === 'pusher:signin_success');
    p.signin();
    await ok;
    return p;
  }
  function watch(p) {
    const log = new EventLog();
    for (const name of ['online', 'offline']) {
      p.user.watchlist.bind(name, (e) => log.push(name, e.user_ids));
    }
    return log;
  }

  test('online when a watched user signs in, offline after their last socket leaves', async () => {
    const w = uniq('w');
    const watcher = await signedIn({ id: `${w}-watcher`, watchlist: [`${w}-bob`, `${w}-carol`] });
    const log = watch(watcher);
    // Not on the watchlist: must not produce an event (bob's online is the marker).
    await signedIn({ id: `${w}-dave` });
    const bob1 = await signedIn({ id: `${w}-bob` });
    const bob2 = await signedIn({ id: `${w}-bob` });
    const first = await log.waitFor((e) => e.name === 'online');
    assert.deepEqual(first.data, [`${w}-bob`], `watchlist events: ${JSON.stringify(log.entries)}`);
    // bob's first socket leaves: no offline yet (carol coming online is the marker).
    bob1.disconnect();
    await signedIn({ id: `${w}-carol` });
    await log.waitFor((e) => e.name === 'online' && e.data.includes(`${w}-carol`));
    assert.equal(log.entries.filter((e) => e.name === 'offline').length, 0, JSON.stringify(log.entries));
    assert.equal(
      log.entries.filter((e) => e.name === 'online' && e.data.includes(`${w}-bob`)).length,
      1,
      'bob\'s second socket does not announce him again',
    );
    bob2.disconnect();
    const off = await log.waitFor((e) => e.name === 'offline');
    assert.deepEqual(off.data, [`${w}-bob`]);
  });

  test('a watched user already online is reported online at sign-in', async () => {
    const w = uniq('w');
    await signedIn({ id: `${w}-early` });
    const p = newPusher(server, app, { sdk, user: { id: `${w}-late`, watchlist: [`${w}-early`, `${w}-absent`] } });
    const log = watch(p);
    p.signin();
    const first = await log.waitFor((e) => e.name === 'online');
    assert.deepEqual(first.data, [`${w}-early`]);
  });

  test('raw frame shape: pusher_internal:watchlist_events {events:[{name,user_ids}]}', async () => {
    const w = uniq('w');
    const c = await RawClient.connect(server.wsUrl(app.key));
    const { auth, user_data } = sdk.authenticateUser(c.socketId, { id: `${w}-raw`, watchlist: [`${w}-x`] });
    c.send({ event: 'pusher:signin', data: { auth, user_data } });
    await c.next('pusher:signin_success');
    await signedIn({ id: `${w}-x` });
    const f = await c.next('pusher_internal:watchlist_events');
    const events = dataOf(f).events;
    assert.ok(Array.isArray(events), JSON.stringify(f));
    assert.deepEqual(
      events.filter((e) => e.name === 'online').flatMap((e) => e.user_ids),
      [`${w}-x`],
    );
  });
});

describe('terminate_connections', () => {
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

  async function rawSignin(id) {
    const c = await RawClient.connect(server.wsUrl(app.key));
    const { auth, user_data } = sdk.authenticateUser(c.socketId, { id });
    c.send({ event: 'pusher:signin', data: { auth, user_data } });
    await c.next('pusher:signin_success');
    return c;
  }

  test('closes every socket of that user with 4009; other users stay connected', async () => {
    const u = uniq('t');
    const a1 = await rawSignin(`${u}-a`);
    const a2 = await rawSignin(`${u}-a`);
    const b = await rawSignin(`${u}-b`);
    const anon = await RawClient.connect(server.wsUrl(app.key));
    await sdk.terminateUserConnections(`${u}-a`);
    for (const c of [a1, a2]) {
      const { code } = await c.closed;
      assert.equal(code, 4009, c.describe());
    }
    const err = a1.received((f) => f.event === 'pusher:error');
    if (err.length) assert.equal(dataOf(err[0]).code, 4009, 'a pusher:error before the close, if any, says 4009');
    // b and the anonymous socket are untouched.
    await b.ping();
    await anon.ping();
    const got = b.next((f) => f.event === 'still-here');
    await sdk.sendToUser(`${u}-b`, 'still-here', {});
    await got;
  });

  test('pusher-js: a terminated client does not reconnect', async () => {
    const u = uniq('t');
    const p = newPusher(server, app, { sdk, user: { id: `${u}-js` } });
    const ok = waitFor(p.connection, 'message', 5000, (e) => e.event === 'pusher:signin_success');
    p.signin();
    await ok;
    const states = new EventLog();
    p.connection.bind('state_change', ({ current }) => states.push(current));
    await sdk.terminateUserConnections(`${u}-js`);
    const settled = await states.waitFor((e) => e.name !== 'connected', 5000, 'leaving connected');
    assert.equal(settled.name, 'disconnected', JSON.stringify(states.names()));
    // Marker: another client connects and round-trips before we look again.
    const other = await connectPusher(server, app);
    const name = uniq('m');
    const [ch] = await subscribed(other, name);
    const got = waitFor(ch, 'm');
    await sdk.trigger(name, 'm', {});
    await got;
    assert.ok(!states.names().includes('connecting'), JSON.stringify(states.names()));
  });

  test('a presence member that never signed in is not terminated (terminating-user-connections page)', async () => {
    // "Connections for users subscribed to presence channels but that have not been
    // authenticated via this flow will not be terminated."
    const u = uniq('t');
    const signed = await rawSignin(`${u}-p`);
    const channel = uniq('presence-t');
    const member = await RawClient.connect(server.wsUrl(app.key));
    const { auth, channel_data } = sdk.authorizeChannel(member.socketId, channel, { user_id: `${u}-p` });
    await member.mustSubscribe(channel, { auth, channel_data });
    await sdk.terminateUserConnections(`${u}-p`);
    assert.equal((await signed.closed).code, 4009);
    await member.ping();
    assert.ok(member.isOpen, member.describe());
  });

  test('terminating a user with no connections succeeds and closes nobody', async () => {
    const c = await rawSignin(uniq('bystander'));
    const res = await sdk.terminateUserConnections(uniq('ghost'));
    assert.equal(res.status, 200);
    await c.ping();
    assert.ok(c.isOpen);
  });
});
