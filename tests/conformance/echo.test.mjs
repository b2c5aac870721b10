// laravel-echo 2 against the server, with broadcaster 'reverb' and 'pusher'
// and an authorizer that signs with the node SDK: private listen, error on
// auth failure, presence here/joining/leaving, whispers.

import { describe, test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import Echo from 'laravel-echo';
import { startServer, makeApp } from './lib/server.mjs';
import { PusherJS, EventLog, sdkFor, track, withTimeout, uniq, cleanup } from './lib/util.mjs';

for (const broadcaster of ['reverb', 'pusher']) {
  describe(`laravel-echo (broadcaster '${broadcaster}')`, () => {
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

    /**
     * An Echo instance whose authorizer signs with `signer` (the node SDK).
     * `member` is the presence user; `wrongFor(name)` picks channels to sign badly.
     */
    function makeEcho({ member, signer = sdk } = {}) {
      const options = {
        broadcaster,
        key: app.key,
        Pusher: PusherJS,
        wsHost: server.host,
        wsPort: server.port,
        wssPort: server.port,
        forceTLS: false,
        enabledTransports: ['ws'],
        disableStats: true,
        authorizer: (channel) => ({
          authorize: (socketId, callback) => {
            try {
              const data = channel.name.startsWith('presence-') ? member : undefined;
              callback(null, signer.authorizeChannel(socketId, channel.name, data));
            } catch (err) {
              callback(err, null);
            }
          },
        }),
      };
      if (broadcaster === 'pusher') options.cluster = 'mt1';
      const echo = new Echo(options);
      track(echo);
      return echo;
    }

    function connected(echo) {
      const conn = echo.connector.pusher.connection;
      if (conn.state === 'connected') return Promise.resolve();
      return withTimeout(
        new Promise((res) => conn.bind('connected', res)),
        5000,
        'Echo connection',
      );
    }

    function subscribedP(channel) {
      return withTimeout(new Promise((res) => channel.subscribed(res)), 5000, `Echo subscribed ${channel.name}`);
    }

    test("private('chat.conversation.1').listen('.ChatMessageReceived') gets the SDK's event", async () => {
      const echo = makeEcho();
      const got = new Promise((res) => {
        echo.private('chat.conversation.1').listen('.ChatMessageReceived', res);
      });
      await subscribedP(echo.private('chat.conversation.1'));
      const message = {
        id: 17,
        conversation_id: 1,
        sender_type: 'agent',
        sender_name: 'Ada',
        message: 'Hello there ✓',
        attachment_path: null,
        is_voice: false,
        timestamp: '2025-01-01T12:00:00Z',
      };
      await sdk.trigger('private-chat.conversation.1', 'ChatMessageReceived', message);
      assert.deepEqual(await withTimeout(got, 5000, 'ChatMessageReceived'), message);
    });

    test('namespaced listen: App\\Events\\X is matched by listen("X")', async () => {
      const echo = makeEcho();
      const name = uniq('ns');
      const got = new Promise((res) => echo.channel(name).listen('OrderShipped', res));
      await subscribedP(echo.channel(name));
      await sdk.trigger(name, 'App\\Events\\OrderShipped', { order: 5 });
      assert.deepEqual(await withTimeout(got, 5000, 'OrderShipped'), { order: 5 });
    });

    test('.error() is called when the server refuses the signature; other channels keep working', async () => {
      const wrong = sdkFor(server, app, { secret: 'bad-secret' });
      const echo = makeEcho({ signer: wrong });
      const err = await withTimeout(
        new Promise((res) => echo.private(uniq('denied')).error(res)),
        5000,
        'Echo .error()',
      );
      assert.equal(err.type, 'AuthError');
      assert.equal(err.status, 401);
      // Public channels on the same connection still work.
      const pub = uniq('pub');
      const got = new Promise((res) => echo.channel(pub).listen('.ping', res));
      await subscribedP(echo.channel(pub));
      await sdk.trigger(pub, 'ping', { ok: 1 });
      assert.deepEqual(await withTimeout(got, 5000, 'public event after auth error'), { ok: 1 });
      assert.equal(echo.connectionStatus(), 'connected');
    });

    test("join('room'): here includes self, joining and leaving fire for others", async () => {
      const room = uniq('room');
      const a = makeEcho({ member: { user_id: 'ada', user_info: { name: 'Ada' } } });
      const log = new EventLog();
      const here = new Promise((res) => {
        a.join(room)
          .here((users) => {
            log.push('here', users);
            res(users);
          })
          .joining((u) => log.push('joining', u))
          .leaving((u) => log.push('leaving', u));
      });
      const hereUsers = await withTimeout(here, 5000, 'here()');
      assert.deepEqual(hereUsers, [{ name: 'Ada' }]);
      const b = makeEcho({ member: { user_id: 'bob', user_info: { name: 'Bob' } } });
      const bHere = withTimeout(new Promise((res) => b.join(room).here(res)), 5000, "bob's here()");
      const users = await bHere;
      assert.deepEqual(
        users.map((u) => u.name).sort(),
        ['Ada', 'Bob'],
      );
      const joined = await log.waitFor((e) => e.name === 'joining');
      assert.deepEqual(joined.data, { name: 'Bob' });
      b.disconnect();
      const left = await log.waitFor((e) => e.name === 'leaving');
      assert.deepEqual(left.data, { name: 'Bob' });
    });

    test('whisper / listenForWhisper between two Echo clients, not echoed to the sender', async () => {
      const conv = `chat.conversation.${uniq('w')}`;
      const a = makeEcho();
      const b = makeEcho();
      await Promise.all([connected(a), connected(b)]);
      const chA = a.private(conv);
      const chB = b.private(conv);
      await Promise.all([subscribedP(chA), subscribedP(chB)]);
      const aLog = new EventLog();
      chA.listenForWhisper('typing', (d) => aLog.push('typing', d));
      chA.listenForWhisper('stopped', (d) => aLog.push('stopped', d));
      const got = new Promise((res) => chB.listenForWhisper('typing', res));
      chA.whisper('typing', { name: 'Ada', typing: true });
      assert.deepEqual(await withTimeout(got, 5000, 'whisper'), { name: 'Ada', typing: true });
      chB.whisper('stopped', { name: 'Bob' });
      await aLog.waitFor((e) => e.name === 'stopped');
      assert.deepEqual(aLog.names(), ['stopped'], 'A never hears its own whisper');
    });

    test('presence whisper reaches the other member', async () => {
      const room = uniq('wroom');
      const a = makeEcho({ member: { user_id: 'w1', user_info: { name: 'W1' } } });
      const b = makeEcho({ member: { user_id: 'w2', user_info: { name: 'W2' } } });
      await withTimeout(new Promise((res) => a.join(room).here(res)), 5000, 'a here');
      const joined = withTimeout(new Promise((res) => a.join(room).joining(res)), 5000, 'joining');
      const got = new Promise((res) => a.join(room).listenForWhisper('typing', res));
      await withTimeout(new Promise((res) => b.join(room).here(res)), 5000, 'b here');
      await joined;
      b.join(room).whisper('typing', { who: 'W2' });
      assert.deepEqual(await withTimeout(got, 5000, 'presence whisper'), { who: 'W2' });
    });

    test('socketId() is the pusher-js socket id (used for X-Socket-ID / toOthers)', async () => {
      const echo = makeEcho();
      await connected(echo);
      assert.match(echo.socketId(), /^\d+\.\d+$/);
      const name = uniq('others');
      const other = makeEcho();
      await connected(other);
      const mine = new EventLog();
      echo.channel(name).listen('.evt', (d) => mine.push('evt', d));
      const theirs = new Promise((res) => other.channel(name).listen('.evt', res));
      await Promise.all([subscribedP(echo.channel(name)), subscribedP(other.channel(name))]);
      await sdk.trigger(name, 'evt', { n: 1 }, { socket_id: echo.socketId() });
      await sdk.trigger(name, 'evt', { n: 2 });
      await withTimeout(theirs, 5000, 'other echo gets the event');
      await mine.waitFor((e) => e.data.n === 2);
      assert.deepEqual(mine.entries.map((e) => e.data.n), [2]);
    });
  });
}
