// Webhooks: a local HTTP receiver validates each request with the node SDK's
// pusher.webhook({headers, rawBody}).isValid() and records the events.

import { describe, test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { startServer, makeApp } from './lib/server.mjs';
import { RawClient, EventLog, PusherSDK, uniq, cleanup } from './lib/util.mjs';

const DELAY_MS = 1000;
const ALL_TYPES = ['channel_occupied', 'channel_vacated', 'member_added', 'member_removed', 'client_event', 'cache_miss'];

/** Starts the receiver; one EventLog per path. */
async function startReceiver(validatorsByPath) {
  const logs = {};
  const invalid = [];
  const srv = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const rawBody = Buffer.concat(chunks).toString('utf8');
      const sdk = validatorsByPath[req.url];
      const hook = sdk?.webhook({ headers: req.headers, rawBody });
      if (!hook || !hook.isValid()) {
        invalid.push({ url: req.url, headers: req.headers, rawBody });
      } else {
        logs[req.url] ??= new EventLog();
        for (const ev of hook.getEvents()) {
          logs[req.url].push(ev.name, ev, { time_ms: hook.getData().time_ms, headers: req.headers, rawBody });
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise((res) => srv.listen(0, '127.0.0.1', res));
  for (const path of Object.keys(validatorsByPath)) logs[path] = new EventLog();
  return {
    port: srv.address().port,
    logs,
    invalid,
    close: () => new Promise((res) => srv.close(res)),
  };
}

describe('webhooks', () => {
  let server;
  let receiver;
  const app = makeApp();
  const onlyOccupied = makeApp();
  let sdk;
  let log;
  let occLog;

  before(async () => {
    // Validators need the apps' credentials; URLs need the receiver's port.
    const validators = {
      '/hook': new PusherSDK({ appId: app.id, key: app.key, secret: app.secret }),
      '/only-occupied': new PusherSDK({ appId: onlyOccupied.id, key: onlyOccupied.key, secret: onlyOccupied.secret }),
    };
    receiver = await startReceiver(validators);
    app.webhooks = [{ url: `http://127.0.0.1:${receiver.port}/hook`, event_types: ALL_TYPES }];
    onlyOccupied.webhooks = [{ url: `http://127.0.0.1:${receiver.port}/only-occupied`, event_types: ['channel_occupied'] }];
    server = await startServer({ apps: [app, onlyOccupied], env: { PARLEY_WEBHOOK_DELAY_MS: String(DELAY_MS) } });
    sdk = new PusherSDK({ appId: app.id, key: app.key, secret: app.secret, host: server.host, port: server.port, useTLS: false });
    log = receiver.logs['/hook'];
    occLog = receiver.logs['/only-occupied'];
  });
  after(async () => {
    await cleanup();
    await server?.stop();
    await receiver?.close();
  });
  afterEach(async () => {
    await cleanup();
    assert.deepEqual(receiver.invalid, [], 'every webhook request must validate with the node SDK');
  });

  async function rawSub(channel, member, theApp = app) {
    const c = await RawClient.connect(server.wsUrl(theApp.key));
    if (channel.startsWith('private-') || channel.startsWith('presence-')) {
      const { auth, channel_data } = sdk.authorizeChannel(c.socketId, channel, member);
      await c.mustSubscribe(channel, { auth, channel_data });
    } else {
      await c.mustSubscribe(channel);
    }
    return c;
  }
  const about = (name, channel) => (e) => e.name === name && e.data.channel === channel;

  test('requests carry X-Pusher-Key, JSON content type, time_ms; a wrong secret does not validate', async () => {
    const name = uniq('hdr');
    await rawSub(name);
    const e = await log.waitFor(about('channel_occupied', name));
    assert.equal(e.headers['x-pusher-key'], app.key);
    assert.equal(e.headers['content-type'], 'application/json');
    assert.match(e.headers['x-pusher-signature'], /^[0-9a-f]{64}$/);
    assert.equal(typeof e.time_ms, 'number');
    const forged = new PusherSDK({ appId: app.id, key: app.key, secret: 'wrong' });
    assert.equal(forged.webhook({ headers: e.headers, rawBody: e.rawBody }).isValid(), false);
  });

  test('channel_occupied once on the first subscriber only', async () => {
    const name = uniq('occ');
    await rawSub(name);
    await rawSub(name);
    const marker = uniq('occ-marker');
    await rawSub(marker);
    await log.waitFor(about('channel_occupied', marker));
    assert.equal(log.entries.filter(about('channel_occupied', name)).length, 1);
  });

  test('channel_vacated after the configured delay once the last subscriber leaves', async () => {
    const name = uniq('vac');
    const a = await rawSub(name);
    const b = await rawSub(name);
    await log.waitFor(about('channel_occupied', name));
    a.terminate();
    await b.ping();
    const left = Date.now();
    b.send({ event: 'pusher:unsubscribe', data: { channel: name } });
    const e = await log.waitFor(about('channel_vacated', name), DELAY_MS + 5000);
    const waited = e.at - left;
    assert.ok(waited >= DELAY_MS * 0.8, `vacated after ${waited} ms, configured delay ${DELAY_MS} ms`);
    assert.equal(log.entries.filter(about('channel_vacated', name)).length, 1);
  });

  test('re-occupying within the delay cancels channel_vacated', async () => {
    const name = uniq('flap');
    const a = await rawSub(name);
    await log.waitFor(about('channel_occupied', name));
    a.send({ event: 'pusher:unsubscribe', data: { channel: name } });
    a.send({ event: 'pusher:subscribe', data: { channel: name, auth: '' } });
    await a.next((f) => f.event === 'pusher_internal:subscription_succeeded' && f.channel === name);
    // Marker: a channel vacated after this one must be reported after the first one would have been.
    const marker = uniq('flap-marker');
    const m = await rawSub(marker);
    m.send({ event: 'pusher:unsubscribe', data: { channel: marker } });
    await log.waitFor(about('channel_vacated', marker), DELAY_MS + 5000);
    assert.equal(log.entries.filter(about('channel_vacated', name)).length, 0, JSON.stringify(log.names()));
  });

  test('member_added once per user; member_removed after their last socket, delayed', async () => {
    const name = uniq('presence-hook');
    const u1 = await rawSub(name, { user_id: 'hook-user' });
    const u2 = await rawSub(name, { user_id: 'hook-user' });
    await rawSub(name, { user_id: 'hook-marker' });
    const added = await log.waitFor((e) => about('member_added', name)(e) && e.data.user_id === 'hook-marker');
    assert.equal(added.data.user_id, 'hook-marker');
    const forUser = log.entries.filter((e) => about('member_added', name)(e) && e.data.user_id === 'hook-user');
    assert.equal(forUser.length, 1, JSON.stringify(log.entries.map((e) => e.data)));
    u1.send({ event: 'pusher:unsubscribe', data: { channel: name } });
    await u1.ping();
    const left = Date.now();
    u2.terminate();
    const removed = await log.waitFor(
      (e) => about('member_removed', name)(e) && e.data.user_id === 'hook-user',
      DELAY_MS + 5000,
    );
    assert.ok(removed.at - left >= DELAY_MS * 0.8, `member_removed after ${removed.at - left} ms`);
    assert.equal(log.entries.filter(about('member_removed', name)).length, 1, 'only hook-user left');
  });

  test('client_event: channel, event, data, socket_id (and user_id on presence)', async () => {
    const priv = uniq('private-hook');
    const s = await rawSub(priv);
    await rawSub(priv);
    s.send({ event: 'client-typing', channel: priv, data: { typing: true } });
    const e = await log.waitFor(about('client_event', priv));
    assert.equal(e.data.event, 'client-typing');
    assert.equal(e.data.socket_id, s.socketId);
    const d = typeof e.data.data === 'string' ? JSON.parse(e.data.data) : e.data.data;
    assert.deepEqual(d, { typing: true });
    assert.equal(e.data.user_id, undefined);

    const pres = uniq('presence-hook-ce');
    const ps = await rawSub(pres, { user_id: 'whisperer' });
    await rawSub(pres, { user_id: 'listener' });
    ps.send({ event: 'client-hi', channel: pres, data: { x: 1 } });
    const pe = await log.waitFor(about('client_event', pres));
    assert.equal(pe.data.user_id, 'whisperer');
    assert.equal(pe.data.socket_id, ps.socketId);
  });

  test('cache_miss on subscribing to an empty cache channel, not when it has an event', async () => {
    const empty = uniq('cache-hook');
    await rawSub(empty);
    await log.waitFor(about('cache_miss', empty));
    const full = uniq('cache-hook-full');
    await sdk.trigger(full, 'state', { v: 1 });
    await rawSub(full);
    // Marker: another miss reported after the full channel's subscription.
    const marker = uniq('cache-hook-marker');
    await rawSub(marker);
    await log.waitFor(about('cache_miss', marker));
    assert.equal(log.entries.filter(about('cache_miss', full)).length, 0);
  });

  test('one cache_miss for however many clients find a cache channel empty (cache-channels page)', async () => {
    // "Pusher handles de-duplication when multiple clients are subscribed to an empty channel";
    // webhooks page: cache_miss "whenever one or more than one client subscribe to an empty
    // cache channel". Each client still hears pusher:cache_miss.
    const empty = uniq('cache-dedupe');
    const first = await rawSub(empty);
    await first.next('pusher:cache_miss');
    await log.waitFor(about('cache_miss', empty));
    const second = await rawSub(empty);
    await second.next('pusher:cache_miss');
    const marker = uniq('cache-dedupe-marker');
    await rawSub(marker);
    await log.waitFor(about('cache_miss', marker));
    assert.equal(log.entries.filter(about('cache_miss', empty)).length, 1, JSON.stringify(log.names()));
  });

  test('event_types filter: an app subscribed to channel_occupied only gets nothing else', async () => {
    const occSdk = new PusherSDK({ appId: onlyOccupied.id, key: onlyOccupied.key, secret: onlyOccupied.secret });
    const name = uniq('private-filtered');
    const mk = async () => {
      const c = await RawClient.connect(server.wsUrl(onlyOccupied.key));
      await c.mustSubscribe(name, { auth: occSdk.authorizeChannel(c.socketId, name).auth });
      return c;
    };
    const a = await mk();
    await mk();
    a.send({ event: 'client-x', channel: name, data: {} });
    await a.ping();
    const cache = uniq('cache-filtered');
    const c = await RawClient.connect(server.wsUrl(onlyOccupied.key));
    await c.mustSubscribe(cache);
    await occLog.waitFor(about('channel_occupied', cache));
    assert.deepEqual([...new Set(occLog.names())], ['channel_occupied'], JSON.stringify(occLog.entries.map((e) => e.data)));
  });
});
