// The whole product end to end: laravel-echo (with pusher-js) authorises through Parley's own
// `/api/chatbot/broadcasting/auth` endpoint, another client posts through the chat API, and the
// `.ChatMessageReceived` event arrives with exactly the seed's payload fields; `toOthers`
// (X-Socket-ID) is honoured.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Echo from 'laravel-echo';
import { startParley } from './lib/serve.mjs';
import { PusherJS, withTimeout } from './lib/util.mjs';

describe('chat service end to end (laravel-echo + chat API)', () => {
  let parley;
  const echos = [];

  before(async () => { parley = await startParley(); });
  after(async () => {
    for (const echo of echos) echo.disconnect();
    await parley?.stop();
  });

  async function api(method, path, { body, visitor, socketId } = {}) {
    const headers = { Authorization: `Bearer ${parley.token}`, Accept: 'application/json' };
    if (body) headers['Content-Type'] = 'application/json';
    if (visitor) headers['X-Visitor-Token'] = visitor;
    if (socketId) headers['X-Socket-ID'] = socketId;
    const response = await fetch(parley.base + path, { method, headers, body: body && JSON.stringify(body) });
    return { status: response.status, body: await response.json() };
  }

  async function echoFor(visitor) {
    const config = (await api('GET', '/api/chatbot/config')).body;
    assert.equal(config.realtimeProvider, 'reverb');
    const echo = new Echo({
      broadcaster: 'reverb',
      key: config.reverb.key,
      Pusher: PusherJS,
      wsHost: config.reverb.host,
      wsPort: config.reverb.port,
      forceTLS: false,
      enabledTransports: ['ws'],
      disableStats: true,
      authEndpoint: `${parley.base}/api/chatbot/broadcasting/auth`,
      auth: { headers: { Authorization: `Bearer ${parley.token}`, 'X-Visitor-Token': visitor } },
    });
    echos.push(echo);
    return echo;
  }

  function subscribe(echo, id) {
    const received = [];
    let notify;
    const channel = echo.private(`chat.conversation.${id}`).listen('.ChatMessageReceived', (event) => {
      received.push(event);
      notify?.();
    });
    const ready = new Promise((resolve, reject) => {
      channel.subscribed(resolve);
      channel.error(reject);
    });
    const next = (count) => withTimeout(new Promise((resolve) => {
      const check = () => { if (received.length >= count) resolve(received[count - 1]); };
      notify = check;
      check();
    }), 5000, `event #${count}`);
    return { ready: withTimeout(ready, 5000, 'subscription'), received, next };
  }

  test('an event posted through the API reaches Echo with the seed payload', async () => {
    const started = await api('POST', '/api/chatbot/conversation', { body: { visitor_name: 'Test User' } });
    assert.equal(started.status, 201);
    const { id } = started.body.conversation;
    const visitor = started.body.visitor_token;

    const listenerEcho = await echoFor(visitor);
    const listener = subscribe(listenerEcho, id);
    await listener.ready;
    const senderEcho = await echoFor(visitor);
    const sender = subscribe(senderEcho, id);
    await sender.ready;

    const sent = await api('POST', `/api/chatbot/conversation/${id}/messages`, {
      body: { message: 'Hello!', client_id: 'e2e-1' },
      visitor,
      socketId: senderEcho.socketId(),
    });
    assert.equal(sent.status, 201);
    const event = await listener.next(1);
    assert.deepEqual(
      Object.keys(event).sort(),
      ['attachment_name', 'attachment_path', 'client_id', 'conversation_id', 'id', 'is_voice', 'message', 'sender_name', 'sender_type', 'timestamp'],
    );
    assert.deepEqual(event, sent.body.message);
    assert.equal(event.sender_type, 'visitor');
    assert.equal(event.sender_name, 'Test User');

    // A second message from the other side proves the sender's Echo was left out of the first.
    const second = await api('POST', `/api/chatbot/conversation/${id}/messages`, {
      body: { message: 'second', client_id: 'e2e-2' }, visitor, socketId: listenerEcho.socketId(),
    });
    assert.equal(second.status, 201);
    const first = await sender.next(1);
    assert.equal(first.client_id, 'e2e-2', 'the sender received its own message (toOthers ignored)');
  });

  test("another visitor's Echo cannot subscribe", async () => {
    const mine = (await api('POST', '/api/chatbot/conversation', { body: {} })).body;
    const theirs = (await api('POST', '/api/chatbot/conversation', { body: {} })).body;
    const echo = await echoFor(theirs.visitor_token);
    const attempt = subscribe(echo, mine.conversation.id);
    await assert.rejects(attempt.ready);
  });
});
