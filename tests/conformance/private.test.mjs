// Private and private-encrypted channels: authorization signed by the node
// SDK, AuthError on bad signatures (connection stays open), end-to-end
// encryption with pusher-js decrypting, and no client events on encrypted
// channels.

import { describe, test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
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

const MASTER_KEY = randomBytes(32).toString('base64');

describe('private channels', () => {
  const app = makeApp();
  let server;
  let sdk;
  let wrong; // same key, wrong secret: produces well-formed but invalid signatures

  before(async () => {
    server = await startServer({ apps: [app] });
    sdk = sdkFor(server, app, { encryptionMasterKeyBase64: MASTER_KEY });
    wrong = sdkFor(server, app, { secret: 'not-the-secret', encryptionMasterKeyBase64: MASTER_KEY });
  });
  after(async () => {
    await cleanup();
    await server?.stop();
  });
  afterEach(cleanup);

  test('pusher-js + customHandler (node SDK authorizeChannel): subscribe and receive', async () => {
    const p = await connectPusher(server, app, { sdk });
    const name = uniq('private-ok');
    const [ch] = await subscribed(p, name);
    const got = waitFor(ch, 'secret-event');
    await sdk.trigger(name, 'secret-event', { hidden: 'yes', list: [1, 2] });
    assert.deepEqual(await got, { hidden: 'yes', list: [1, 2] });
  });

  test('wrong signature: subscription_error AuthError/401 on that channel, connection stays open', async () => {
    const p = await connectPusher(server, app, {
      channelAuthorization: {
        customHandler: ({ socketId, channelName }, cb) =>
          cb(null, (channelName.includes('-bad-') ? wrong : sdk).authorizeChannel(socketId, channelName)),
      },
    });
    const socketId = p.connection.socket_id;
    const good = uniq('private-good');
    const [goodCh] = await subscribed(p, good);
    const bad = uniq('private-bad-');
    const err = await subscriptionError(p, bad);
    assert.equal(err.type, 'AuthError', JSON.stringify(err));
    assert.equal(err.status, 401, JSON.stringify(err));
    assert.equal(typeof err.error, 'string', JSON.stringify(err));
    assert.ok(err.error.length > 0);
    // The connection is the same one and the other subscription still works.
    assert.equal(p.connection.state, 'connected');
    assert.equal(p.connection.socket_id, socketId);
    const got = waitFor(goodCh, 'still-works');
    await sdk.trigger(good, 'still-works', { ok: true });
    assert.deepEqual(await got, { ok: true });
    // A new private subscription on the same socket succeeds too.
    await subscribed(p, uniq('private-later'));
  });

  test('raw: the AuthError frame names the channel and is not followed by a close', async () => {
    const c = await RawClient.connect(server.wsUrl(app.key));
    const name = uniq('private-raw');
    const { auth } = wrong.authorizeChannel(c.socketId, name);
    const reply = await c.subscribe(name, { auth });
    assert.equal(reply.event, 'pusher:subscription_error', JSON.stringify(reply));
    assert.equal(reply.channel, name);
    const d = dataOf(reply);
    assert.equal(d.type, 'AuthError');
    assert.equal(d.status, 401);
    await c.ping();
    assert.ok(c.isOpen);
  });

  test('raw: no events are delivered on a channel whose auth failed', async () => {
    const c = await RawClient.connect(server.wsUrl(app.key));
    const name = uniq('private-denied');
    const ok = uniq('private-marker');
    await c.subscribe(name, { auth: wrong.authorizeChannel(c.socketId, name).auth });
    await c.mustSubscribe(ok, { auth: sdk.authorizeChannel(c.socketId, ok).auth });
    await sdk.trigger(name, 'leak', {});
    await sdk.trigger(ok, 'marker', {});
    await c.next((f) => f.event === 'marker');
    assert.equal(c.received((f) => f.event === 'leak').length, 0, c.describe());
  });

  test('raw: missing auth, empty auth, other socket id, other channel: all refused', async () => {
    const c = await RawClient.connect(server.wsUrl(app.key));
    const other = await RawClient.connect(server.wsUrl(app.key));
    const cases = [
      ['missing', uniq('private-m'), () => undefined],
      ['empty', uniq('private-e'), () => ''],
      ['other socket', uniq('private-s'), (n) => sdk.authorizeChannel(other.socketId, n).auth],
      ['other channel', uniq('private-c'), () => sdk.authorizeChannel(c.socketId, 'private-elsewhere').auth],
      ['other key prefix', uniq('private-k'), (n) => `otherkey:${sdk.authorizeChannel(c.socketId, n).auth.split(':')[1]}`],
      ['garbage', uniq('private-g'), () => 'nonsense'],
    ];
    for (const [label, name, auth] of cases) {
      const reply = await c.subscribe(name, { auth: auth(name) });
      assert.equal(reply.event, 'pusher:subscription_error', `${label}: ${JSON.stringify(reply)}`);
      assert.equal(dataOf(reply).status, 401, `${label}: ${JSON.stringify(reply)}`);
    }
    await c.ping();
    assert.ok(c.isOpen, 'auth failures never close the connection');
  });

  test('raw: a correct signature for this socket succeeds (control for the refusals)', async () => {
    const c = await RawClient.connect(server.wsUrl(app.key));
    const name = uniq('private-raw-ok');
    await c.mustSubscribe(name, { auth: sdk.authorizeChannel(c.socketId, name).auth });
  });
});

describe('private-encrypted channels', () => {
  const app = makeApp();
  let server;
  let sdk;

  before(async () => {
    server = await startServer({ apps: [app] });
    sdk = sdkFor(server, app, { encryptionMasterKeyBase64: MASTER_KEY });
  });
  after(async () => {
    await cleanup();
    await server?.stop();
  });
  afterEach(cleanup);

  test('pusher-js decrypts an event the node SDK encrypted', async () => {
    const p = await connectPusher(server, app, { sdk });
    const name = uniq('private-encrypted-room');
    const [ch] = await subscribed(p, name);
    const got = waitFor(ch, 'sealed');
    await sdk.trigger(name, 'sealed', { msg: 'for your eyes only ✓', n: 7 });
    assert.deepEqual(await got, { msg: 'for your eyes only ✓', n: 7 });
  });

  test('the server relays ciphertext only (raw subscriber sees nonce/ciphertext, not the plaintext)', async () => {
    const c = await RawClient.connect(server.wsUrl(app.key));
    const name = uniq('private-encrypted-raw');
    await c.mustSubscribe(name, { auth: sdk.authorizeChannel(c.socketId, name).auth });
    const got = c.next((f) => f.event === 'sealed');
    await sdk.trigger(name, 'sealed', { msg: 'PLAINTEXT-MARKER' });
    const f = await got;
    const d = dataOf(f);
    assert.equal(typeof d.nonce, 'string');
    assert.equal(typeof d.ciphertext, 'string');
    assert.ok(!JSON.stringify(f).includes('PLAINTEXT-MARKER'));
  });

  test('an encrypted channel with a bad signature is refused like a private one', async () => {
    const wrong = sdkFor(server, app, { secret: 'nope', encryptionMasterKeyBase64: MASTER_KEY });
    const p = await connectPusher(server, app, { sdk: wrong });
    const err = await subscriptionError(p, uniq('private-encrypted-bad'));
    assert.equal(err.type, 'AuthError');
    assert.equal(err.status, 401);
  });

  test('pusher-js refuses to trigger client events on an encrypted channel', async () => {
    const p = await connectPusher(server, app, { sdk });
    const [ch] = await subscribed(p, uniq('private-encrypted-js'));
    assert.throws(() => ch.trigger('client-x', {}));
  });

  test('client events on an encrypted channel are rejected by the server (raw)', async () => {
    const sender = await RawClient.connect(server.wsUrl(app.key));
    const receiver = await RawClient.connect(server.wsUrl(app.key));
    const enc = uniq('private-encrypted-ce');
    const plain = uniq('private-ce-marker');
    for (const c of [sender, receiver]) {
      await c.mustSubscribe(enc, { auth: sdk.authorizeChannel(c.socketId, enc).auth });
      await c.mustSubscribe(plain, { auth: sdk.authorizeChannel(c.socketId, plain).auth });
    }
    sender.send({ event: 'client-sneaky', channel: enc, data: { nonce: 'x', ciphertext: 'y' } });
    const err = await sender.next('pusher:error');
    assert.ok(dataOf(err), JSON.stringify(err));
    // Marker: a legitimate client event on a private channel, sent afterwards.
    sender.send({ event: 'client-marker', channel: plain, data: { ok: 1 } });
    await receiver.next((f) => f.event === 'client-marker');
    assert.equal(receiver.received((f) => f.event === 'client-sneaky').length, 0, receiver.describe());
    assert.ok(sender.isOpen);
  });
});
