// outbox.js — owns what the widget's and the dashboard's outboxes share: getting messages to the
// server exactly once. Each send gets a random client_id and shows at once as pending; sends go
// one at a time, in order; a failure that trying again can fix is retried with back-off, and the
// server answers a repeated client_id with the first message, so retries never double a message.
// What a failure means, and where a pending message shows, is each outbox's own.

const MAX_DELAY_MS = 30000;

/** A fresh client_id: `prefix` (whose: 'c' a visitor, 'a' an agent) and 32 hex digits. */
export function newClientId(prefix) {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return prefix + Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

function backoff(attempts, retryAfter) {
  if (retryAfter) return retryAfter * 1000;
  const base = Math.min(MAX_DELAY_MS, 1000 * 2 ** Math.min(attempts - 1, 5));
  return base * (0.8 + Math.random() * 0.4); // jitter: many clients reconnecting at once spread out
}

/**
 * The queue of items ({client_id, message, file?, …}), each `queued`, `sending` or `failed`.
 * @param {object} o
 * @param {(item) => object} o.pending where the item shows while pending: `{patchPending,
 *   removePending, merge}` (the widget's store, the dashboard's thread)
 * @param {(item, onProgress) => Promise<object>} o.send sends it; resolves to the answer, `{message}`
 * @param {(item, error) => 'again'|'later'|object} o.failed what a failed send means: send it again
 *   now, retry after a back-off, or fail it with this patch (its `_error` says why)
 * @param {(message, answer, fresh) => void} o.sent stored: the message, the answer, what merge() returned
 * @param {(item) => void} [o.dropped] the item left the queue (sent, discarded, acknowledged)
 * @param {(item) => void} [o.retried] a failed item was queued again by retry()
 */
export function createSendQueue({ pending, send, failed, sent, dropped = () => {}, retried = () => {} }) {
  const queue = [];
  let running = false;
  let timer = null;

  const find = (clientId) => queue.find((i) => i.client_id === clientId);

  function schedule(ms) {
    clearTimeout(timer);
    timer = setTimeout(pump, Math.max(0, ms));
  }

  function remove(item) {
    queue.splice(queue.indexOf(item), 1);
    dropped(item);
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
        const shown = pending(item);
        shown.patchPending(item.client_id, { _status: 'sending', _error: null });
        try {
          const answer = await send(item, (fraction) => shown.patchPending(item.client_id, { _progress: fraction }));
          const message = answer?.message;
          if (!message || message.id == null) throw new Error('no message in the answer');
          remove(item);
          sent(message, answer, shown.merge([message]));
        } catch (error) {
          const next = failed(item, error);
          if (next === 'again') item.state = 'queued';
          else if (next === 'later') {
            item.attempts++;
            item.nextAt = Date.now() + backoff(item.attempts, error?.retryAfter);
            item.state = 'queued';
            shown.patchPending(item.client_id, { _status: 'retrying', _error: null, _progress: null });
          } else {
            item.state = 'failed';
            shown.patchPending(item.client_id, Object.assign({ _status: 'failed' }, next));
          }
        }
      }
    } finally {
      running = false;
    }
  }

  return {
    /** Queues `item` (sent by the next pump()); returns it. */
    add(item) {
      queue.push(Object.assign(item, { attempts: 0, nextAt: 0, state: 'queued' }));
      return item;
    },
    pump,
    retry(clientId) {
      const item = find(clientId);
      if (item && item.state === 'failed' && !item.refused) {
        Object.assign(item, { state: 'queued', attempts: 0, nextAt: 0 });
        retried(item);
        pump();
      }
    },
    discard(clientId) {
      const item = find(clientId);
      if (item && item.state !== 'sending') {
        remove(item);
        pending(item).removePending(clientId);
      }
    },
    /** The stored message came back by another route (another tab, an event): stop resending it. */
    acknowledged(clientId) {
      const item = find(clientId);
      if (item && item.state !== 'sending') remove(item);
    },
    /** The network is back: retry now instead of waiting out the back-off. */
    kick() {
      for (const item of queue) if (item.state === 'queued') item.nextAt = 0;
      pump();
    },
    some: (predicate) => queue.some(predicate),
    size: () => queue.length,
  };
}
