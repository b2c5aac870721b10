// outbox.js — owns getting the visitor's messages to the server exactly once. Each send gets a
// random client_id, shows at once as pending, and is retried with back-off until the server
// acknowledges it; the server answers a repeated client_id with the first message, so retries,
// reloads and a second tab re-sending the same item can never double a message. Sends go one at a
// time, in order. Text messages are also kept in storage until acknowledged, so a reload or a
// crash resends them; files live in memory only.

import { ApiError } from './api.js';

const MAX_DELAY_MS = 30000;

export function newClientId() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return 'c' + Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

function backoff(attempts, retryAfter) {
  if (retryAfter) return retryAfter * 1000;
  const base = Math.min(MAX_DELAY_MS, 1000 * 2 ** Math.min(attempts - 1, 5));
  return base * (0.8 + Math.random() * 0.4); // jitter: many widgets reconnecting at once spread out
}

export function createOutbox({ api, store, session, storage, t, onSent, onError }) {
  const queue = [];
  let running = false;
  let timer = null;

  function schedule(ms) {
    clearTimeout(timer);
    timer = setTimeout(pump, Math.max(0, ms));
  }

  function enqueue(item, pending) {
    item.attempts = 0;
    item.nextAt = 0;
    item.state = 'queued';
    item.newConversations = 0;
    queue.push(item);
    if (!store.isPending(item.client_id)) store.addPending(pending);
    if (!item.file) storage.putOutbox({ client_id: item.client_id, message: item.message, created: Date.now() });
    pump();
  }

  function finish(item, message) {
    queue.splice(queue.indexOf(item), 1);
    storage.dropOutbox(item.client_id);
    const fresh = store.merge([message]);
    onSent?.(message, fresh);
  }

  function fail(item, error) {
    item.state = 'failed';
    // The server's message says what is wrong (too large, type not accepted, too long).
    store.patchPending(item.client_id, { _status: 'failed', _error: error?.message || t('failed'), _progress: null });
    onError?.(error);
  }

  async function sendOne(item) {
    const s = await session.ensure(api);
    if (item.file) {
      const res = await api.sendFile(
        s.conversationId,
        { message: item.message, clientId: item.client_id, file: item.file, fileName: item.fileName, isVoice: item.isVoice },
        (fraction) => store.patchPending(item.client_id, { _progress: fraction }),
      );
      return res.message;
    }
    return (await api.sendText(s.conversationId, item.message, item.client_id)).message;
  }

  async function pump() {
    if (running) return;
    running = true;
    try {
      for (;;) {
        const item = queue.find((i) => i.state === 'queued');
        if (!item) return;
        const wait = item.nextAt - Date.now();
        if (wait > 0) return schedule(wait);
        item.state = 'sending';
        store.patchPending(item.client_id, { _status: 'sending', _error: null });
        const conversationId = session.id();
        try {
          const message = await sendOne(item);
          if (!message || message.id == null) throw new Error('no message in the answer');
          finish(item, message);
        } catch (error) {
          const status = error?.status;
          if ((status === 404 || status === 403 || status === 409) && item.newConversations < 1) {
            // The conversation was closed or is gone: start a new one and send there.
            item.newConversations++;
            session.forget(conversationId);
            item.state = 'queued';
          } else if (error instanceof ApiError ? error.retryable : true) {
            item.attempts++;
            item.nextAt = Date.now() + backoff(item.attempts, error?.retryAfter);
            item.state = 'queued';
            store.patchPending(item.client_id, { _status: 'retrying', _progress: null });
          } else {
            fail(item, error);
          }
        }
      }
    } finally {
      running = false;
    }
  }

  return {
    /** Queues a text message; returns its client_id. */
    sendText(text) {
      const client_id = newClientId();
      enqueue({ client_id, message: text }, { client_id, message: text });
      return client_id;
    },

    /** Queues a file (an attachment, or a voice note when isVoice). */
    sendFile(file, { isVoice = false, fileName, message = '' } = {}) {
      const client_id = newClientId();
      const name = fileName || file.name || (isVoice ? 'voice-note.webm' : 'file');
      const localUrl = URL.createObjectURL(file);
      enqueue(
        { client_id, message, file, fileName: name, isVoice },
        { client_id, message, attachment_name: name, is_voice: isVoice, localUrl, localType: file.type || '' },
      );
      return client_id;
    },

    /** Adopts text messages an earlier page left unsent. */
    restore() {
      for (const saved of storage.outbox()) {
        if (!saved?.client_id || queue.some((i) => i.client_id === saved.client_id)) continue;
        enqueue({ client_id: saved.client_id, message: saved.message }, { client_id: saved.client_id, message: saved.message });
      }
    },

    retry(clientId) {
      const item = queue.find((i) => i.client_id === clientId);
      if (item && item.state === 'failed') {
        Object.assign(item, { state: 'queued', attempts: 0, nextAt: 0, newConversations: 0 });
        pump();
      }
    },

    discard(clientId) {
      const item = queue.find((i) => i.client_id === clientId);
      if (item && item.state !== 'sending') {
        queue.splice(queue.indexOf(item), 1);
        storage.dropOutbox(clientId);
        store.removePending(clientId);
      }
    },

    /** The network is back: retry now instead of waiting out the back-off. */
    kick() {
      for (const item of queue) if (item.state === 'queued') item.nextAt = 0;
      pump();
    },

    /** Another tab got this message stored: no need to send it again. */
    acknowledged(clientId) {
      const item = queue.find((i) => i.client_id === clientId);
      if (item && item.state !== 'sending') {
        queue.splice(queue.indexOf(item), 1);
        storage.dropOutbox(clientId);
      }
    },

    size: () => queue.length,
  };
}
