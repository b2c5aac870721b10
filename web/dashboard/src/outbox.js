// outbox.js — owns getting the agent's replies to the server exactly once, on the shared send
// queue: each reply shows at once as pending in its conversation and is retried with back-off
// while the failure is one that trying again can fix (no answer, 5xx, 429); the server answers a
// repeated client_id with the first message, so retries never double a reply. Anything else (the
// conversation is closed: 409; too long: 422) marks the reply failed, with Retry and Remove.
// File replies (with an optional caption) upload with progress and are never retried by
// themselves: a network failure offers Retry, and a file the server refuses (too large: 413,
// type not allowed: 415, empty: 422) or one over the size limit here shows why, with Remove only.
// Sends go one at a time, in order, across conversations.

import { ApiError } from './api.js';
import { createSendQueue, newClientId } from '../../shared/outbox.js';
import { megabytes, uploadProblem } from '../../shared/ui/uploads.js';

// The server's default; /api/agent/me may say otherwise.
const MAX_UPLOAD_BYTES = 10 * 1024 * 1024;

/** Why a reply was not sent; a refused file is named ("photo.png is too large (max 10 MB)."). */
function describe(error, item, maxBytes = MAX_UPLOAD_BYTES) {
  if (error?.status === 409) return 'This conversation is closed. Reopen it to reply.';
  const name = item?.file ? item.file.name || 'The file' : null;
  const problem = name ? uploadProblem(error) : null;
  if (problem === 'too_large') return name + ' is too large (max ' + megabytes(maxBytes) + ' MB).';
  if (problem === 'type') return name + ' is not a kind of file that can be sent.';
  if (problem === 'empty') return name + ' is empty.';
  if (problem === 'refused') return name + ' could not be sent.';
  return error?.message || 'Not sent.';
}

/** A refused file: sending it again cannot help. */
const refusedFile = (error) => uploadProblem(error) != null;

export function createOutbox({ api, thread, onSent, maxBytes = () => MAX_UPLOAD_BYTES }) {
  const queue = createSendQueue({
    pending: (item) => thread(item.conversationId),
    send: (item, onProgress) =>
      item.file
        ? api.sendFile(item.conversationId, { message: item.message, clientId: item.client_id, file: item.file }, onProgress)
        : api.send(item.conversationId, item.message, item.client_id),
    failed(item, error) {
      if (item.file) {
        item.refused = refusedFile(error);
        return { _error: describe(error, item, maxBytes()), _refused: item.refused };
      }
      if (error instanceof ApiError && error.retryable) return 'later';
      return { _error: describe(error, item) };
    },
    sent: (message, answer) => onSent?.(message, answer),
    retried: (item) => thread(item.conversationId).patchPending(item.client_id, { _status: 'sending', _error: null, _progress: item.file ? 0 : null }),
  });

  // retry, discard, acknowledged (the stored reply came back by another route), kick and size
  // are the queue's.
  return Object.assign(queue, {
    /** Queues a reply; returns its client_id. */
    send(conversationId, message, senderName) {
      const client_id = newClientId('a');
      thread(conversationId).addPending({ client_id, message, sender_name: senderName });
      queue.add({ client_id, conversationId, message });
      queue.pump();
      return client_id;
    },
    /**
     * Queues a file reply (caption may be ''); one over `maxBytes` fails here without uploading.
     * Returns its client_id.
     */
    sendFile(conversationId, { file, caption, maxBytes }, senderName) {
      const client_id = newClientId('a');
      const t = thread(conversationId);
      t.addPending({ client_id, message: caption, sender_name: senderName, file });
      const item = queue.add({ client_id, conversationId, message: caption, file });
      if (file.size > maxBytes) {
        Object.assign(item, { state: 'failed', refused: true });
        t.patchPending(client_id, { _status: 'failed', _refused: true, _error: `${file.name || 'The file'} is too large (max ${megabytes(maxBytes)} MB).` });
      } else queue.pump();
      return client_id;
    },
    pendingIn: (conversationId) => queue.some((i) => i.conversationId === conversationId),
  });
}
