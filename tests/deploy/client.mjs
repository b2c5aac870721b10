// A visitor through the reverse proxy, as the widget does it, checked against every node:
//
//   node client.mjs <proxy base URL> <widget token> <node base URLs, comma-separated>
//                   <node realtime URLs, comma-separated>
//
// 1. /up through the proxy; /api/chatbot/config through the proxy tells browsers to use the
//    proxy for the realtime server (wss, its host and port).
// 2. A conversation is started through the proxy; pusher-js connects to wss://<proxy>/app/{key}
//    (the WebSocket upgrade through the proxy) and authorises its private channel through the
//    proxy; one more pusher-js subscribes on each node directly.
// 3. Messages are posted through the proxy and to each node directly: every subscriber, on
//    whichever node it is, receives every message, once and in order (scale-out through Redis;
//    no sticky sessions).
// 4. An attachment uploaded through the proxy downloads from every node (the shared data
//    directory and link secret).
//
// Exits 0 when all holds, 1 with what was seen otherwise. Waits are for events, each bounded.

import assert from 'node:assert/strict';
import Pusher from 'pusher-js';

Pusher.logToConsole = false;

const [proxy, token, nodeList, realtimeList] = process.argv.slice(2);
const nodes = nodeList.split(',');
const realtimes = realtimeList.split(',');
const WAIT_MS = 10_000;

function within(promise, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${WAIT_MS} ms waiting for ${what}`)), WAIT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function api(base, method, path, { body, visitor, form } = {}) {
  const headers = { Authorization: `Bearer ${token}`, Accept: 'application/json' };
  if (visitor) headers['X-Visitor-Token'] = visitor;
  if (body) headers['Content-Type'] = 'application/json';
  const response = await fetch(base + path, { method, headers, body: form ?? (body && JSON.stringify(body)) });
  const text = await response.text();
  let json;
  try { json = JSON.parse(text); } catch { json = text; }
  return { status: response.status, body: json };
}

// -- 1. health and what browsers are told ----------------------------------------------------
const up = await fetch(`${proxy}/up`);
assert.equal(up.status, 200, `/up through the proxy: ${up.status} ${await up.text()}`);
const config = (await api(proxy, 'GET', '/api/chatbot/config')).body;
const proxyUrl = new URL(proxy);
assert.equal(config.realtimeProvider, 'reverb', JSON.stringify(config));
assert.equal(config.reverb.scheme, 'https', 'REVERB_SCHEME reaches browsers');
assert.equal(String(config.reverb.port), proxyUrl.port, 'REVERB_PORT reaches browsers');
assert.equal(config.reverb.host, proxyUrl.hostname, 'browsers use the host they reached the API on');
console.log(`ok: /up 200 through the proxy; browsers are told wss://${config.reverb.host}:${config.reverb.port}`);

// -- 2. a conversation and its subscribers ---------------------------------------------------
const started = await api(proxy, 'POST', '/api/chatbot/conversation', { body: { visitor_name: 'Deploy test' } });
assert.equal(started.status, 201, JSON.stringify(started.body));
const id = started.body.conversation.id;
const visitor = started.body.visitor_token;

function subscriber(name, options) {
  const pusher = new Pusher(config.reverb.key, {
    cluster: 'mt1', // required by pusher-js, unused with wsHost
    ...options,
    enabledTransports: ['ws', 'wss'],
    disableStats: true,
    channelAuthorization: {
      customHandler: ({ socketId, channelName }, callback) => {
        api(proxy, 'POST', '/api/chatbot/broadcasting/auth', {
          visitor,
          body: { socket_id: socketId, channel_name: channelName },
        }).then(
          (res) => (res.status === 200 ? callback(null, res.body) : callback(new Error(`auth ${res.status}`), null)),
          (error) => callback(error, null),
        );
      },
    },
  });
  const received = [];
  const waiters = [];
  const channel = pusher.subscribe(`private-chat.conversation.${id}`);
  channel.bind('ChatMessageReceived', (event) => {
    if (event.sender_type !== 'visitor') return; // the bot answers too
    received.push(event.client_id);
    for (const waiter of waiters.splice(0)) waiter();
  });
  const subscribed = new Promise((resolve, reject) => {
    channel.bind('pusher:subscription_succeeded', resolve);
    channel.bind('pusher:subscription_error', (error) => reject(new Error(`${name}: ${JSON.stringify(error)}`)));
  });
  const count = (n) => new Promise((resolve) => {
    const check = () => (received.length >= n ? resolve() : waiters.push(check));
    check();
  });
  return { name, pusher, received, subscribed: within(subscribed, `${name} to subscribe`), count };
}

const subscribers = [
  subscriber('through the proxy', { wsHost: config.reverb.host, wssPort: Number(config.reverb.port), forceTLS: true }),
  ...realtimes.map((url, i) => {
    const { hostname, port } = new URL(url);
    return subscriber(`on node ${i + 1}`, { wsHost: hostname, wsPort: Number(port), forceTLS: false });
  }),
];
await Promise.all(subscribers.map((s) => s.subscribed));
console.log(`ok: ${subscribers.length} subscribers (wss through the proxy, one on each node)`);

// -- 3. messages from everywhere reach everyone ---------------------------------------------
const sent = [];
const targets = [proxy, proxy, proxy, ...nodes];
for (const [i, base] of targets.entries()) {
  const clientId = `deploy-${i}`;
  const res = await api(base, 'POST', `/api/chatbot/conversation/${id}/messages`, {
    visitor,
    body: { message: `hello ${i}`, client_id: clientId },
  });
  assert.equal(res.status, 201, `message ${i} to ${base}: ${res.status} ${JSON.stringify(res.body)}`);
  sent.push(clientId);
}
for (const s of subscribers) {
  await within(s.count(sent.length), `${s.name} to receive ${sent.length} messages (has ${JSON.stringify(s.received)})`);
  assert.deepEqual(s.received, sent, `${s.name}: every message once, in order`);
}
console.log(`ok: ${sent.length} messages (3 through the proxy, 1 to each node) reached all ${subscribers.length} subscribers once and in order`);

// -- 4. an attachment from any node ---------------------------------------------------------
const form = new FormData();
form.append('client_id', 'deploy-file');
form.append('attachment', new Blob(['uploaded through the proxy\n'], { type: 'text/plain' }), 'note.txt');
const upload = await api(proxy, 'POST', `/api/chatbot/conversation/${id}/messages`, { visitor, form });
assert.equal(upload.status, 201, `upload: ${upload.status} ${JSON.stringify(upload.body)}`);
const path = upload.body.message?.attachment_path ?? upload.body.attachment_path;
assert.ok(path, `no attachment_path in ${JSON.stringify(upload.body)}`);
for (const base of [proxy, ...nodes]) {
  const res = await fetch(base + path);
  assert.equal(res.status, 200, `attachment from ${base}: ${res.status}`);
  assert.equal(await res.text(), 'uploaded through the proxy\n');
}
console.log(`ok: the attachment downloads through the proxy and from each of the ${nodes.length} nodes`);

for (const s of subscribers) s.pusher.disconnect();
console.log('client: OK');
process.exit(0);
