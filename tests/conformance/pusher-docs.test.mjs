// Expectations read off Pusher's documentation, driven through pusher-js 8 and the node SDK.
// Each test names the page it comes from (under https://pusher.com/docs/channels/):
//   using_channels/cache-channels, library_auth_reference/pusher-websockets-protocol,
//   library_auth_reference/rest-api, server_api/authorizing-users,
//   using_channels/presence-channels. Plus the per-connection subscription cap.

import { describe, test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, makeApp } from './lib/server.mjs';
import {
  RawClient,
  EventLog,
  newPusher,
  sdkFor,
  subscribed,
  subscriptionError,
  waitFor,
  dataOf,
  uniq,
  cleanup,
} from './lib/util.mjs';

const MAX_SUBSCRIPTIONS = 5;

describe('Pusher documentation', () => {
  const app = makeApp();
  let server;
  let sdk;

  before(async () => {
    server = await startServer({
      apps: [app],
      env: { PARLEY_MAX_SUBSCRIPTIONS: String(MAX_SUBSCRIPTIONS) },
    });
    sdk = sdkFor(server, app);
  });
  after(async () => {
    await cleanup();
    await server?.stop();
  });
  afterEach(cleanup);

  /** pusher-js signed in as `user`, channels signed without a presence user object. */
  async function signedIn(user) {
    const p = newPusher(server, app, { sdk, user });
    const ok = waitFor(p.connection, 'message', 5000, (e) => e.event === 'pusher:signin_success');
    p.signin();
    await ok;
    return p;
  }

  async function rawSignin(c, user) {
    const { auth, user_data } = sdk.authenticateUser(c.socketId, user);
    c.send({ event: 'pusher:signin', data: { auth, user_data } });
    return c.next((f) => f.event === 'pusher:signin_success' || f.event === 'pusher:error');
  }

  test('cache-channels: client events are not cached; the server\'s events are', async () => {
    // FAQ "Are client events also supported?": "we do not cache client events".
    const name = uniq('private-cache-board');
    const a = newPusher(server, app, { sdk });
    const [chA] = await subscribed(a, name);
    const b = newPusher(server, app, { sdk });
    const [chB] = await subscribed(b, name);
    const got = waitFor(chB, 'client-move');
    chA.trigger('client-move', { x: 1 });
    assert.deepEqual(await got, { x: 1 });

    const late = newPusher(server, app, { sdk });
    const log = new EventLog();
    late.subscribe(name).bind_global((ev, data) => log.push(ev, data));
    await log.waitFor((e) => e.name === 'pusher:cache_miss', 5000, 'cache_miss for a late subscriber');
    assert.ok(!log.names().includes('client-move'), JSON.stringify(log.names()));

    await sdk.trigger(name, 'board', { x: 2 });
    const later = newPusher(server, app, { sdk });
    const replayed = waitFor(later.subscribe(name), 'board');
    assert.deepEqual(await replayed, { x: 2 });
  });

  test('rest-api: info=cache gives {data, ttl}, or null when empty; 400 off cache channels', async () => {
    const name = uniq('cache-price');
    const empty = await (await sdk.get({ path: `/channels/${name}`, params: { info: 'cache' } })).json();
    assert.deepEqual(empty, { occupied: false, cache: null });
    await sdk.trigger(name, 'price', { eur: 3 });
    const full = await (await sdk.get({ path: `/channels/${name}`, params: { info: 'cache' } })).json();
    assert.deepEqual(JSON.parse(full.cache.data), { eur: 3 });
    assert.ok(Number.isInteger(full.cache.ttl) && full.cache.ttl > 0 && full.cache.ttl <= 1800, JSON.stringify(full));
    let status;
    try {
      status = (await sdk.get({ path: `/channels/${uniq('plain')}`, params: { info: 'cache' } })).status;
    } catch (err) {
      status = err.status;
    }
    assert.equal(status, 400);
  });

  test('protocol: a sign-in as another user on a signed-in connection fails, the first stays', async () => {
    // pusher:signin "fails if the connection is already associated with a different user id".
    const c = await RawClient.connect(server.wsUrl(app.key));
    const ann = uniq('ann');
    assert.equal((await rawSignin(c, { id: ann })).event, 'pusher:signin_success');
    const second = await rawSignin(c, { id: uniq('bob') });
    assert.equal(second.event, 'pusher:error', JSON.stringify(second));
    await c.ping();
    assert.ok(c.isOpen);
    const got = c.next((f) => f.event === 'for-ann');
    await sdk.sendToUser(ann, 'for-ann', { ok: 1 });
    assert.deepEqual(dataOf(await got), { ok: 1 });
  });

  test('protocol: a watchlist over 100 keeps the first 100, succeeds, and reports 4302', async () => {
    const w = uniq('w');
    const watchlist = Array.from({ length: 101 }, (_, i) => `${w}-${i}`);
    const c = await RawClient.connect(server.wsUrl(app.key));
    const ok = await rawSignin(c, { id: `${w}-me`, watchlist });
    assert.equal(ok.event, 'pusher:signin_success', JSON.stringify(ok));
    const error = await c.next('pusher:error');
    assert.equal(dataOf(error).code, 4302, JSON.stringify(error));
    // The 101st is not watched (its online comes first and must not show), the 100th is.
    await signedIn({ id: `${w}-100` });
    await signedIn({ id: `${w}-99` });
    const online = await c.next('pusher_internal:watchlist_events');
    assert.deepEqual(dataOf(online).events, [{ name: 'online', user_ids: [`${w}-99`] }]);
  });

  test('authorizing-users: a signed-in pusher-js joins presence with no user object in the auth', async () => {
    // "providing the user object in presence channel authorization is optional, if the user is
    // already signed-in"; pusher-js waits for the sign-in and takes members.me from it.
    const name = uniq('presence-team');
    const annId = uniq('ann');
    const ann = await signedIn({ id: annId, user_info: { name: 'Ann' } });
    const [chAnn] = await subscribed(ann, name);
    assert.equal(chAnn.members.me.id, annId);
    assert.deepEqual(chAnn.members.me.info, { name: 'Ann' });
    assert.equal(chAnn.members.count, 1);
    const added = waitFor(chAnn, 'pusher:member_added');
    const bobId = uniq('bob');
    const bob = await signedIn({ id: bobId, user_info: { name: 'Bob' } });
    const [chBob] = await subscribed(bob, name);
    assert.deepEqual(await added, { id: bobId, info: { name: 'Bob' } });
    assert.equal(chBob.members.count, 2);
    assert.deepEqual(chBob.members.get(annId), { id: annId, info: { name: 'Ann' } });
  });

  test('presence-channels: user ids up to 128 characters, user objects up to 1 KB', async () => {
    // "100 members maximum, 1KB limit for user object, and maximum 128 characters for user id".
    const name = uniq('presence-limits');
    const tooLong = newPusher(server, app, { sdk, presence: { user_id: 'u'.repeat(129) } });
    const error = await subscriptionError(tooLong, name);
    assert.equal(error.type, 'LimitReached', JSON.stringify(error));
    const fits = newPusher(server, app, { sdk, presence: { user_id: 'u'.repeat(128) } });
    await subscribed(fits, name);
    // {"user_id":"big","user_info":{"bio":"…"}} is 40 bytes plus the bio.
    const big = newPusher(server, app, { sdk, presence: { user_id: 'big', user_info: { bio: 'b'.repeat(985) } } });
    assert.equal((await subscriptionError(big, name)).type, 'LimitReached');
    const kilo = newPusher(server, app, { sdk, presence: { user_id: 'big', user_info: { bio: 'b'.repeat(984) } } });
    await subscribed(kilo, name);
  });

  test('PARLEY_MAX_SUBSCRIPTIONS: one more subscription is refused on that channel, the connection stays', async () => {
    const p = newPusher(server, app, { sdk });
    for (let i = 0; i < MAX_SUBSCRIPTIONS; i++) await subscribed(p, uniq(`room${i}`));
    const extra = uniq('one-too-many');
    const error = await subscriptionError(p, extra);
    assert.equal(error.type, 'LimitReached', JSON.stringify(error));
    assert.match(error.error, new RegExp(`at most ${MAX_SUBSCRIPTIONS}`));
    assert.equal(p.connection.state, 'connected');
    const kept = p.channel(p.allChannels()[0].name);
    const got = waitFor(kept, 'still');
    await sdk.trigger(kept.name, 'still', { here: true });
    assert.deepEqual(await got, { here: true });
  });
});
