// The HTTP API through the node SDK: trigger, triggerBatch, channel listings
// and info, presence users, request signing (bad signature, stale timestamp,
// body_md5), unknown apps, and the payload / channel-count / batch limits.

import { describe, test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { startServer, makeApp } from './lib/server.mjs';
import { RawClient, PusherSDK, sdkFor, dataOf, uniq, cleanup } from './lib/util.mjs';

/** Signs a request by hand (to control the timestamp or tamper with it). */
function signed(server, app, method, path, { params = {}, body, timestamp, secret = app.secret } = {}) {
  const q = {
    auth_key: app.key,
    auth_timestamp: String(timestamp ?? Math.floor(Date.now() / 1000)),
    auth_version: '1.0',
    ...params,
  };
  if (body !== undefined) q.body_md5 = createHash('md5').update(body).digest('hex');
  const qs = Object.keys(q)
    .sort()
    .map((k) => `${k}=${q[k]}`)
    .join('&');
  const sig = new PusherSDK.Token(app.key, secret).sign([method, path, qs].join('\n'));
  return `${server.httpUrl}${path}?${qs}&auth_signature=${sig}`;
}

async function status(promise) {
  try {
    const res = await promise;
    return res.status;
  } catch (err) {
    if (err && typeof err.status === 'number') return err.status;
    throw err;
  }
}

describe('HTTP API', () => {
  const app = makeApp({ max_event_payload_bytes: 10240, max_channels_per_event: 100, max_batch_size: 10 });
  const small = makeApp({ max_channels_per_event: 3, max_batch_size: 2, max_event_payload_bytes: 1024 });
  let server;
  let sdk;

  before(async () => {
    server = await startServer({ apps: [app, small] });
    sdk = sdkFor(server, app);
  });
  after(async () => {
    await cleanup();
    await server?.stop();
  });
  afterEach(cleanup);

  async function rawSub(channel, member, theApp = app, theSdk = sdk) {
    const c = await RawClient.connect(server.wsUrl(theApp.key));
    if (channel.startsWith('private-') || channel.startsWith('presence-')) {
      const { auth, channel_data } = theSdk.authorizeChannel(c.socketId, channel, member);
      await c.mustSubscribe(channel, { auth, channel_data });
    } else {
      await c.mustSubscribe(channel);
    }
    return c;
  }

  test('trigger: 200 with a JSON object body, event delivered', async () => {
    const name = uniq('api');
    const c = await rawSub(name);
    const got = c.next((f) => f.event === 'ev');
    const res = await sdk.trigger(name, 'ev', { a: 1 });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), {});
    assert.deepEqual(dataOf(await got), { a: 1 });
  });

  test('trigger with info returns subscription_count / user_count per channel', async () => {
    const pub = uniq('info');
    const pres = uniq('presence-info');
    await rawSub(pub);
    await rawSub(pub);
    await rawSub(pres, { user_id: 'u1' });
    await rawSub(pres, { user_id: 'u1' });
    await rawSub(pres, { user_id: 'u2' });
    const r1 = await sdk.trigger(pub, 'ev', {}, { info: 'subscription_count' });
    assert.deepEqual((await r1.json()).channels?.[pub], { subscription_count: 2 });
    const r2 = await sdk.trigger(pres, 'ev', {}, { info: 'user_count,subscription_count' });
    assert.deepEqual((await r2.json()).channels?.[pres], { user_count: 2, subscription_count: 3 });
  });

  test('triggerBatch delivers each event to its channel', async () => {
    const one = uniq('b1');
    const two = uniq('b2');
    const c1 = await rawSub(one);
    const c2 = await rawSub(two);
    const g1 = c1.next((f) => f.event === 'e1');
    const g2 = c2.next((f) => f.event === 'e2');
    const res = await sdk.triggerBatch([
      { channel: one, name: 'e1', data: { n: 1 } },
      { channel: two, name: 'e2', data: { n: 2 } },
    ]);
    assert.equal(res.status, 200);
    assert.deepEqual(dataOf(await g1), { n: 1 });
    assert.deepEqual(dataOf(await g2), { n: 2 });
    await c1.ping();
    assert.equal(c1.received((f) => f.event === 'e2').length, 0, 'events only reach their own channel');
  });

  test('GET /channels lists occupied channels only, with prefix filter and user_count', async () => {
    const tag = uniq('lst');
    const pub = `${tag}-pub`;
    const pres = `presence-${tag}`;
    await rawSub(pub);
    const gone = await rawSub(`${tag}-gone`);
    gone.send({ event: 'pusher:unsubscribe', data: { channel: `${tag}-gone` } });
    await gone.ping();
    await rawSub(pres, { user_id: 'x' });
    await rawSub(pres, { user_id: 'x' });
    await rawSub(pres, { user_id: 'y' });
    const all = await (await sdk.get({ path: '/channels' })).json();
    assert.ok(all.channels[pub], JSON.stringify(all));
    assert.ok(all.channels[pres], JSON.stringify(all));
    assert.equal(all.channels[`${tag}-gone`], undefined, 'unoccupied channels are not listed');
    const pr = await (
      await sdk.get({ path: '/channels', params: { filter_by_prefix: 'presence-', info: 'user_count' } })
    ).json();
    assert.deepEqual(pr.channels[pres], { user_count: 2 });
    assert.equal(pr.channels[pub], undefined, 'prefix filter applies');
  });

  test('GET /channels/{name}: occupied, subscription_count, user_count', async () => {
    const pub = uniq('one');
    await rawSub(pub);
    await rawSub(pub);
    await rawSub(pub);
    const info = await (await sdk.get({ path: `/channels/${pub}`, params: { info: 'subscription_count' } })).json();
    assert.equal(info.occupied, true);
    assert.equal(info.subscription_count, 3);
    const pres = uniq('presence-one');
    await rawSub(pres, { user_id: 'p' });
    await rawSub(pres, { user_id: 'p' });
    const pi = await (
      await sdk.get({ path: `/channels/${pres}`, params: { info: 'user_count,subscription_count' } })
    ).json();
    assert.deepEqual(pi, { occupied: true, user_count: 1, subscription_count: 2 });
    const empty = await (await sdk.get({ path: `/channels/${uniq('nobody')}` })).json();
    assert.equal(empty.occupied, false);
  });

  test('GET /channels/{presence}/users: deduplicated ids; 400 for non-presence', async () => {
    const pres = uniq('presence-users');
    await rawSub(pres, { user_id: 'one' });
    await rawSub(pres, { user_id: 'one' });
    await rawSub(pres, { user_id: 'two' });
    const body = await (await sdk.get({ path: `/channels/${pres}/users` })).json();
    assert.deepEqual(body.users.map((u) => u.id).sort(), ['one', 'two']);
    assert.equal(await status(sdk.get({ path: `/channels/${uniq('public')}/users` })), 400);
  });

  test('wrong secret → 401, and nothing is delivered', async () => {
    const name = uniq('sig');
    const c = await rawSub(name);
    const wrong = sdkFor(server, app, { secret: 'definitely-wrong' });
    assert.equal(await status(wrong.trigger(name, 'forged', {})), 401);
    assert.equal(await status(wrong.get({ path: '/channels' })), 401);
    await sdk.trigger(name, 'marker', {});
    await c.next((f) => f.event === 'marker');
    assert.equal(c.received((f) => f.event === 'forged').length, 0);
  });

  test('hand-signed request with a fresh timestamp → 200 (control for the next cases)', async () => {
    const body = JSON.stringify({ name: 'ev', channels: [uniq('hand')], data: '{}' });
    const res = await fetch(signed(server, app, 'POST', `/apps/${app.id}/events`, { body }), {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(res.status, 200, await res.text());
  });

  test('stale timestamp (700 s old) → 401', async () => {
    const body = JSON.stringify({ name: 'ev', channels: [uniq('stale')], data: '{}' });
    const url = signed(server, app, 'POST', `/apps/${app.id}/events`, {
      body,
      timestamp: Math.floor(Date.now() / 1000) - 700,
    });
    const res = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
    assert.equal(res.status, 401);
  });

  test('timestamp 700 s in the future → 401', async () => {
    const url = signed(server, app, 'GET', `/apps/${app.id}/channels`, {
      timestamp: Math.floor(Date.now() / 1000) + 700,
    });
    assert.equal((await fetch(url)).status, 401);
  });

  test('body that does not match body_md5 → rejected', async () => {
    const signedBody = JSON.stringify({ name: 'ev', channels: [uniq('md5')], data: '{}' });
    const sentBody = JSON.stringify({ name: 'evil', channels: [uniq('md5')], data: '{}' });
    const url = signed(server, app, 'POST', `/apps/${app.id}/events`, { body: signedBody });
    const res = await fetch(url, { method: 'POST', body: sentBody, headers: { 'content-type': 'application/json' } });
    assert.ok([400, 401].includes(res.status), `status ${res.status}`);
  });

  test('query parameter changed after signing → 401', async () => {
    const url = signed(server, app, 'GET', `/apps/${app.id}/channels`, { params: { filter_by_prefix: 'a' } });
    assert.equal((await fetch(url.replace('filter_by_prefix=a', 'filter_by_prefix=b'))).status, 401);
  });

  test('unknown app id → 404', async () => {
    const ghost = sdkFor(server, { ...app, id: '999999999' });
    assert.equal(await status(ghost.trigger(uniq('x'), 'ev', {})), 404);
  });

  test('credentials of another app on this app id → 401', async () => {
    const mixed = sdkFor(server, { id: app.id, key: small.key, secret: small.secret });
    assert.equal(await status(mixed.trigger(uniq('x'), 'ev', {})), 401);
  });

  test('over-size event data → 413; at the limit → 200', async () => {
    const name = uniq('big');
    assert.equal(await status(sdk.trigger(name, 'ev', 'x'.repeat(10 * 1024 + 1))), 413);
    assert.equal(await status(sdk.trigger(name, 'ev', 'x'.repeat(10 * 1024))), 200);
  });

  test('per-app payload limit: 1 KB app rejects 2 KB with 413', async () => {
    const smallSdk = sdkFor(server, small);
    assert.equal(await status(smallSdk.trigger(uniq('s'), 'ev', 'y'.repeat(2048))), 413);
    assert.equal(await status(smallSdk.trigger(uniq('s'), 'ev', 'y'.repeat(512))), 200);
  });

  test('too many channels → 400 (app limit 3), 3 channels → 200', async () => {
    const smallSdk = sdkFor(server, small);
    const four = [uniq('a'), uniq('b'), uniq('c'), uniq('d')];
    assert.equal(await status(smallSdk.trigger(four, 'ev', {})), 400);
    assert.equal(await status(smallSdk.trigger(four.slice(0, 3), 'ev', {})), 200);
  });

  test('101 channels → 400 with the default limit (bypassing the SDK guard)', async () => {
    const channels = Array.from({ length: 101 }, (_, i) => `many-${i}`);
    const res = sdk.post({ path: '/events', body: { name: 'ev', data: '{}', channels } });
    assert.equal(await status(res), 400);
  });

  test('batch larger than max_batch_size → rejected, nothing delivered', async () => {
    const smallSdk = sdkFor(server, small);
    const name = uniq('batch');
    const c = await rawSub(name, undefined, small, smallSdk);
    const batch = [1, 2, 3].map((n) => ({ channel: name, name: 'b', data: { n } }));
    const st = await status(smallSdk.triggerBatch(batch));
    assert.ok([400, 413].includes(st), `status ${st}`);
    await smallSdk.trigger(name, 'marker', {});
    await c.next((f) => f.event === 'marker');
    assert.equal(c.received((f) => f.event === 'b').length, 0, c.describe());
    const ok = [1, 2].map((n) => ({ channel: name, name: 'b', data: { n } }));
    assert.equal(await status(smallSdk.triggerBatch(ok)), 200);
  });

  test('invalid channel name in trigger → 400', async () => {
    const res = sdk.post({ path: '/events', body: { name: 'ev', data: '{}', channels: ['bad channel!'] } });
    assert.equal(await status(res), 400);
  });

  test('malformed JSON body → 400', async () => {
    const body = '{"name": "ev", "channels": [';
    const url = signed(server, app, 'POST', `/apps/${app.id}/events`, { body });
    const res = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
    assert.equal(res.status, 400);
  });
});
