// Scale-out: two `parley realtime` processes share one Redis (REDIS_URL). Events the Node SDK
// publishes on one node reach pusher-js clients on both, once; client events and server-to-user
// events cross nodes; terminate_connections on one node closes a user's socket on the other;
// the channel queries count the sockets of both nodes; presence is the cluster's.
// Needs PARLEY_TEST_REDIS_URL (`make test` sets it); each run uses its own pub/sub channel.

import { describe, test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, makeApp } from './lib/server.mjs';
import { EventLog, connectPusher, newPusher, sdkFor, subscribed, waitFor, waitForArgs, uniq, cleanup } from './lib/util.mjs';

const REDIS_URL = process.env.PARLEY_TEST_REDIS_URL;

describe('two nodes sharing Redis', { skip: REDIS_URL ? false : 'PARLEY_TEST_REDIS_URL is not set' }, () => {
  const app = makeApp();
  let nodeA;
  let nodeB;
  let sdkA;
  let sdkB;

  before(async () => {
    const env = { REDIS_URL, PARLEY_CLUSTER_CHANNEL: uniq('parley-conformance') };
    [nodeA, nodeB] = await Promise.all([startServer({ apps: [app], env }), startServer({ apps: [app], env })]);
    sdkA = sdkFor(nodeA, app);
    sdkB = sdkFor(nodeB, app);
  });
  after(async () => {
    await cleanup();
    await Promise.all([nodeA?.stop(), nodeB?.stop()]);
  });
  afterEach(cleanup);

  test('an event triggered on one node reaches pusher-js on both, once each', async () => {
    const name = uniq('news');
    const onA = await connectPusher(nodeA, app);
    const onB = await connectPusher(nodeB, app);
    const [chA] = await subscribed(onA, name);
    const [chB] = await subscribed(onB, name);
    const logs = [new EventLog(), new EventLog()];
    chA.bind_global((ev, data) => logs[0].push(ev, data));
    chB.bind_global((ev, data) => logs[1].push(ev, data));

    const res = await sdkA.trigger(name, 'first', { n: 1 });
    assert.equal(res.status, 200);
    // A marker from the other node: Redis keeps one channel in order, so a duplicate of
    // "first" (a node delivering its own echo) would be logged before it.
    await Promise.all(logs.map((log) => log.waitFor((e) => e.name === 'first')));
    assert.equal((await sdkB.trigger(name, 'second', { n: 2 })).status, 200);
    for (const log of logs) {
      await log.waitFor((e) => e.name === 'second');
      const events = log.names().filter((n) => !n.startsWith('pusher'));
      assert.deepEqual(events, ['first', 'second']);
      assert.deepEqual(log.entries.find((e) => e.name === 'first').data, { n: 1 });
    }
  });

  test('client events cross nodes and never come back to the sender', async () => {
    const name = uniq('private-ce');
    const a = await connectPusher(nodeA, app, { sdk: sdkA });
    const b = await connectPusher(nodeB, app, { sdk: sdkB });
    const [chA] = await subscribed(a, name);
    const [chB] = await subscribed(b, name);
    const logA = new EventLog();
    chA.bind_global((ev, data) => logA.push(ev, data));
    const bGot = waitForArgs(chB, 'client-ping');
    assert.equal(chA.trigger('client-ping', { from: 'a' }), true);
    assert.deepEqual((await bGot)[0], { from: 'a' });
    chB.trigger('client-pong', { from: 'b' });
    await logA.waitFor((e) => e.name === 'client-pong');
    assert.deepEqual(logA.names().filter((n) => n.startsWith('client-')), ['client-pong']);
  });

  test('sendToUser on one node reaches the user signed in on the other; terminate closes it', async () => {
    const id = uniq('ann');
    const ann = newPusher(nodeB, app, { sdk: sdkB, user: { id } });
    const ok = waitFor(ann.connection, 'message', 5000, (e) => e.event === 'pusher:signin_success');
    ann.signin();
    await ok;
    const ch = ann.user.serverToUserChannel;
    if (!ch.subscribed) await waitFor(ch, 'pusher:subscription_succeeded');
    const got = waitFor(ann.user, 'hello');
    assert.equal((await sdkA.sendToUser(id, 'hello', { to: 'ann' })).status, 200);
    assert.deepEqual(await got, { to: 'ann' });

    const states = new EventLog();
    ann.connection.bind('state_change', ({ current }) => states.push(current));
    assert.equal((await sdkA.terminateUserConnections(id)).status, 200);
    const settled = await states.waitFor((e) => e.name !== 'connected', 5000, 'leaving connected');
    assert.equal(settled.name, 'disconnected', JSON.stringify(states.names()));
  });

  test('channel queries on one node count subscribers and members on both', async () => {
    const news = uniq('news');
    const room = uniq('presence-room');
    const onA = await connectPusher(nodeA, app);
    const onB = await connectPusher(nodeB, app);
    await subscribed(onA, news);
    await subscribed(onB, news);
    const annA = await connectPusher(nodeA, app, { sdk: sdkA, presence: { user_id: 'ann', user_info: {} } });
    const annB = await connectPusher(nodeB, app, { sdk: sdkB, presence: { user_id: 'ann', user_info: {} } });
    const bobB = await connectPusher(nodeB, app, { sdk: sdkB, presence: { user_id: 'bob', user_info: {} } });
    for (const p of [annA, annB, bobB]) await subscribed(p, room);

    const info = await (await sdkA.get({ path: `/channels/${news}`, params: { info: 'subscription_count' } })).json();
    assert.deepEqual(info, { occupied: true, subscription_count: 2 });
    const presence = await (
      await sdkB.get({ path: `/channels/${room}`, params: { info: 'user_count,subscription_count' } })
    ).json();
    assert.deepEqual(presence, { occupied: true, user_count: 2, subscription_count: 3 });
    const users = await (await sdkA.get({ path: `/channels/${room}/users` })).json();
    assert.deepEqual(users.users.map((u) => u.id).sort(), ['ann', 'bob']);
    const listed = await (await sdkA.get({ path: '/channels', params: { filter_by_prefix: 'presence-', info: 'user_count' } })).json();
    assert.equal(listed.channels[room].user_count, 2);
  });
});

// Presence is the cluster's: pusher-js on either node lists every node's members; a user on both
// nodes is added once and removed once, everywhere; a node SIGKILLed (no goodbye) is removed by
// the survivor within PARLEY_CLUSTER_NODE_TIMEOUT (2 s here), its members' member_removed sent.
describe('presence across two nodes', { skip: REDIS_URL ? false : 'PARLEY_TEST_REDIS_URL is not set' }, () => {
  const app = makeApp();
  let nodeA;
  let nodeB;
  let sdkA;
  let sdkB;

  before(async () => {
    const env = {
      REDIS_URL,
      PARLEY_CLUSTER_CHANNEL: uniq('parley-conformance-presence'),
      PARLEY_CLUSTER_NODE_TIMEOUT: '2',
    };
    [nodeA, nodeB] = await Promise.all([startServer({ apps: [app], env }), startServer({ apps: [app], env })]);
    sdkA = sdkFor(nodeA, app);
    sdkB = sdkFor(nodeB, app);
  });
  after(async () => {
    await cleanup();
    await Promise.all([nodeA?.stop(), nodeB?.stop()]);
  });
  afterEach(cleanup);

  const member = (id) => ({ user_id: id, user_info: { name: id } });
  const memberEvents = (log) =>
    log.entries
      .filter((e) => e.name === 'pusher:member_added' || e.name === 'pusher:member_removed')
      .map((e) => `${e.name === 'pusher:member_added' ? '+' : '-'}${e.data.id}`);

  test("each node lists every node's members; a user on both is added once and removed once", async () => {
    const name = uniq('presence-both');
    const watcher = await connectPusher(nodeA, app, { sdk: sdkA, presence: member('watcher') });
    const [ch] = await subscribed(watcher, name);
    const log = new EventLog();
    ch.bind_global((ev, data) => log.push(ev, data));

    const annA = await connectPusher(nodeA, app, { sdk: sdkA, presence: member('ann') });
    await subscribed(annA, name);
    const annB = await connectPusher(nodeB, app, { sdk: sdkB, presence: member('ann') });
    const [, members] = await subscribed(annB, name);
    assert.deepEqual(Object.keys(members.members).sort(), ['ann', 'watcher']);
    assert.deepEqual(members.get('watcher').info, { name: 'watcher' });
    // A marker from node B after Ann's second socket: a second member_added for her would
    // come first.
    const bob = await connectPusher(nodeB, app, { sdk: sdkB, presence: member('bob') });
    await subscribed(bob, name);
    await log.waitFor((e) => e.name === 'pusher:member_added' && e.data.id === 'bob');
    assert.deepEqual(memberEvents(log), ['+ann', '+bob']);

    annA.disconnect();
    const cy = await connectPusher(nodeA, app, { sdk: sdkA, presence: member('cy') });
    await subscribed(cy, name);
    await log.waitFor((e) => e.name === 'pusher:member_added' && e.data.id === 'cy');
    annB.disconnect();
    await log.waitFor((e) => e.name === 'pusher:member_removed' && e.data.id === 'ann');
    const dee = await connectPusher(nodeB, app, { sdk: sdkB, presence: member('dee') });
    await subscribed(dee, name);
    await log.waitFor((e) => e.name === 'pusher:member_added' && e.data.id === 'dee');
    assert.deepEqual(memberEvents(log), ['+ann', '+bob', '+cy', '-ann', '+dee']);
    assert.deepEqual(Object.keys(ch.members.members).sort(), ['bob', 'cy', 'dee', 'watcher']);
  });

  test('a node SIGKILLed: the survivor removes its members within the node timeout', async () => {
    const name = uniq('presence-killed');
    const env = {
      REDIS_URL,
      PARLEY_CLUSTER_CHANNEL: uniq('parley-conformance-killed'),
      PARLEY_CLUSTER_NODE_TIMEOUT: '2',
    };
    const [survivor, doomed] = await Promise.all([startServer({ apps: [app], env }), startServer({ apps: [app], env })]);
    try {
      const watcher = await connectPusher(survivor, app, { sdk: sdkFor(survivor, app), presence: member('watcher') });
      const [ch] = await subscribed(watcher, name);
      const log = new EventLog();
      ch.bind_global((ev, data) => log.push(ev, data));
      const ann = await connectPusher(doomed, app, { sdk: sdkFor(doomed, app), presence: member('ann') });
      await subscribed(ann, name);
      await log.waitFor((e) => e.name === 'pusher:member_added' && e.data.id === 'ann');
      // The node holding Ann dies without a word.
      doomed.proc.kill('SIGKILL');
      ann.disconnect(); // or pusher-js keeps trying the dead node's port
      await log.waitFor((e) => e.name === 'pusher:member_removed' && e.data.id === 'ann', 10_000, 'member_removed ann');
      assert.deepEqual(memberEvents(log), ['+ann', '-ann']);
      assert.deepEqual(Object.keys(ch.members.members), ['watcher']);
    } finally {
      await Promise.all([survivor.stop(), doomed.stop()]);
    }
  });
});
