// Per-app options from the apps file not covered elsewhere:
// user_authentication_timeout_secs ("authorized connections": sign in or
// subscribe to a private channel in time, or be closed with 4009) and
// subscription_count_events (pusher_internal:subscription_count).

import { describe, test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, makeApp } from './lib/server.mjs';
import { RawClient, connectPusher, sdkFor, subscribed, waitFor, withTimeout, dataOf, uniq, cleanup } from './lib/util.mjs';

const AUTH_TIMEOUT_S = 1;

describe('per-app options', () => {
  const strict = makeApp({ user_authentication_timeout_secs: AUTH_TIMEOUT_S });
  const counting = makeApp({ subscription_count_events: true });
  const quiet = makeApp({ subscription_count_events: false });
  let server;

  before(async () => {
    server = await startServer({ apps: [strict, counting, quiet] });
  });
  after(async () => {
    await cleanup();
    await server?.stop();
  });
  afterEach(cleanup);

  test('user_authentication_timeout_secs: an anonymous socket is closed with 4009 after the timeout', async () => {
    const t0 = Date.now();
    const c = await RawClient.connect(server.wsUrl(strict.key));
    await c.mustSubscribe(uniq('public-does-not-count'));
    const closed = await withTimeout(c.closed, AUTH_TIMEOUT_S * 1000 + 5000, 'close of the anonymous socket');
    assert.equal(closed.code, 4009, c.describe());
    assert.ok(Date.now() - t0 >= AUTH_TIMEOUT_S * 1000 * 0.8, `closed after ${Date.now() - t0} ms`);
  });

  test('user_authentication_timeout_secs: signing in or a private subscription keeps the socket', async () => {
    const sdk = sdkFor(server, strict);
    const signedIn = await RawClient.connect(server.wsUrl(strict.key));
    const { auth, user_data } = sdk.authenticateUser(signedIn.socketId, { id: uniq('u') });
    signedIn.send({ event: 'pusher:signin', data: { auth, user_data } });
    await signedIn.next('pusher:signin_success');
    const privateSub = await RawClient.connect(server.wsUrl(strict.key));
    const name = uniq('private-auth');
    await privateSub.mustSubscribe(name, { auth: sdk.authorizeChannel(privateSub.socketId, name).auth });
    // Marker: an anonymous socket opened after both is closed by the timeout first.
    const anon = await RawClient.connect(server.wsUrl(strict.key));
    const closed = await withTimeout(anon.closed, AUTH_TIMEOUT_S * 1000 + 5000, 'anonymous marker socket closed');
    assert.equal(closed.code, 4009);
    await signedIn.ping();
    await privateSub.ping();
    assert.ok(signedIn.isOpen && privateSub.isOpen);
  });

  test('apps without the option never close anonymous sockets for it', async () => {
    const c = await RawClient.connect(server.wsUrl(quiet.key));
    // Marker: a socket of the strict app opened after this one is closed by its timeout.
    const anon = await RawClient.connect(server.wsUrl(strict.key));
    await withTimeout(anon.closed, AUTH_TIMEOUT_S * 1000 + 5000, 'strict-app socket closed');
    await c.ping();
    assert.ok(c.isOpen);
  });

  test('subscription_count_events: subscribers hear pusher_internal:subscription_count', async () => {
    const name = uniq('counted');
    const a = await RawClient.connect(server.wsUrl(counting.key));
    await a.mustSubscribe(name);
    const b = await RawClient.connect(server.wsUrl(counting.key));
    await b.mustSubscribe(name);
    const f = await a.next(
      (f) => f.event === 'pusher_internal:subscription_count' && f.channel === name && dataOf(f).subscription_count === 2,
    );
    assert.deepEqual(dataOf(f), { subscription_count: 2 });
  });

  test('subscription_count_events: pusher-js emits pusher:subscription_count', async () => {
    const name = uniq('counted-js');
    const p = await connectPusher(server, counting);
    const [ch] = await subscribed(p, name);
    const counted = waitFor(ch, 'pusher:subscription_count', 5000, (d) => d.subscription_count === 2);
    const q = await connectPusher(server, counting);
    await subscribed(q, name);
    assert.equal((await counted).subscription_count, 2);
  });

  test('subscription_count_events off: no subscription_count frames', async () => {
    const sdk = sdkFor(server, quiet);
    const name = uniq('uncounted');
    const a = await RawClient.connect(server.wsUrl(quiet.key));
    await a.mustSubscribe(name);
    const b = await RawClient.connect(server.wsUrl(quiet.key));
    await b.mustSubscribe(name);
    await sdk.trigger(name, 'marker', {});
    await a.next((f) => f.event === 'marker');
    assert.equal(a.received((f) => f.event === 'pusher_internal:subscription_count').length, 0, a.describe());
  });
});
