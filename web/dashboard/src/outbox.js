// outbox.js — owns getting the agent's replies to the server exactly once. Each reply gets a
// random client_id, shows at once as pending in its conversation, and is retried with back-off
// while the failure is one that trying again can fix (no answer, 5xx, 429); the server answers a
// repeated client_id with the first message, so retries never double a reply. Anything else (the
// conversation is closed: 409; too long: 422) marks the reply failed, with Retry and Remove.
// File replies (with an optional caption) upload with progress and are never retried by
// themselves: a network failure offers Retry, and a file the server refuses (too large: 413,
// type not allowed: 415, empty: 422) or one over the size limit here shows why, with Remove only.
// Sends go one at a time, in order, across conversations.

import { ApiError } from './api.js';

const MAX_DELAY_MS = 30000;

export function newClientId() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return 'a' + Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

function backoff(attempts, retryAfter) {
  if (retryAfter) return retryAfter * 1000;
  const base = Math.min(MAX_DELAY_MS, 1000 * 2 ** Math.min(attempts - 1, 5));
  return base * (0.8 + Math.random() * 0.4);
}

function describe(error) {
  if (error?.status === 409) return 'This conversation is closed. Reopen it to reply.';
  return error?.message || 'Not sent.';
}

/** A refused file: sending it again cannot help. */
const refusedFile = (error) => [400, 413, 415, 422].includes(error?.status);

const megabytes = (bytes) => +(bytes / 1048576).toFixed(1) + ' MB';

export function createOutbox({ api, thread, onSent }) {
  const queue = [];
  let running = false;
  let timer = null;

  function schedule(ms) {
    clearTimeout(timer);
    timer = setTimeout(pump, Math.max(0, ms));
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
        const t = thread(item.conversationId);
        t.patchPending(item.client_id, { _status: 'sending', _error: null });
        try {
          const res = item.file
            ? await api.sendFile(item.conversationId, { message: item.message, clientId: item.client_id, file: item.file }, (p) =>
                t.patchPending(item.client_id, { _progress: p }),
              )
            : await api.send(item.conversationId, item.message, item.client_id);
          const message = res?.message;
          if (!message || message.id == null) throw new Error('no message in the answer');
          queue.splice(queue.indexOf(item), 1);
          t.merge([message]);
          onSent?.(message, res);
        } catch (error) {
          if (item.file) {
            item.state = 'failed';
            item.refused = refusedFile(error);
            t.patchPending(item.client_id, { _status: 'failed', _error: describe(error), _refused: item.refused });
          } else if (error instanceof ApiError ? error.retryable : false) {
            item.attempts++;
            item.nextAt = Date.now() + backoff(item.attempts, error.retryAfter);
            item.state = 'queued';
            t.patchPending(item.client_id, { _status: 'retrying', _error: null });
          } else {
            item.state = 'failed';
            t.patchPending(item.client_id, { _status: 'failed', _error: describe(error) });
          }
        }
      }
    } finally {
      running = false;
    }
  }

  return {
    /** Queues a reply; returns its client_id. */
    send(conversationId, message, senderName) {
      const client_id = newClientId();
      thread(conversationId).addPending({ client_id, message, sender_name: senderName });
      queue.push({ client_id, conversationId, message, attempts: 0, nextAt: 0, state: 'queued' });
      pump();
      return client_id;
    },
    /**
     * Queues a file reply (caption may be ''); one over `maxBytes` fails here without uploading.
     * Returns its client_id.
     */
    sendFile(conversationId, { file, caption, maxBytes }, senderName) {
      const client_id = newClientId();
      const t = thread(conversationId);
      t.addPending({ client_id, message: caption, sender_name: senderName, file });
      const item = { client_id, conversationId, message: caption, file, attempts: 0, nextAt: 0, state: 'queued' };
      queue.push(item);
      if (file.size > maxBytes) {
        Object.assign(item, { state: 'failed', refused: true });
        t.patchPending(client_id, { _status: 'failed', _refused: true, _error: `${file.name || 'The file'} is ${megabytes(file.size)}; files can be up to ${megabytes(maxBytes)}.` });
      } else pump();
      return client_id;
    },
    retry(clientId) {
      const item = queue.find((i) => i.client_id === clientId);
      if (item && item.state === 'failed' && !item.refused) {
        Object.assign(item, { state: 'queued', attempts: 0, nextAt: 0 });
        thread(item.conversationId).patchPending(clientId, { _status: 'sending', _error: null, _progress: item.file ? 0 : null });
        pump();
      }
    },
    discard(clientId) {
      const item = queue.find((i) => i.client_id === clientId);
      if (item && item.state !== 'sending') {
        queue.splice(queue.indexOf(item), 1);
        thread(item.conversationId).removePending(clientId);
      }
    },
    /** The stored reply came back by another route: stop resending it. */
    acknowledged(clientId) {
      const item = queue.find((i) => i.client_id === clientId);
      if (item && item.state !== 'sending') queue.splice(queue.indexOf(item), 1);
    },
    /** The network is back: retry now instead of waiting out the back-off. */
    kick() {
      for (const item of queue) if (item.state === 'queued') item.nextAt = 0;
      pump();
    },
    pendingIn: (conversationId) => queue.some((i) => i.conversationId === conversationId),
    size: () => queue.length,
  };
}
