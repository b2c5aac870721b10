// outbox.js — owns getting the visitor's messages to the server exactly once, on the shared send
// queue: each send shows at once as pending and is retried with back-off until the server
// acknowledges it, so retries, reloads and a second tab re-sending the same item can never double
// a message. A conversation that was closed or is gone (403/404/409) gets a new one, once. Text
// messages are also kept in storage until acknowledged, so a reload or a crash resends them;
// files live in memory only.

import { ApiError } from './api.js';
import { createSendQueue, newClientId } from '../../shared/outbox.js';
import { megabytes, uploadProblem } from '../../shared/ui/uploads.js';

const FILE_WORDS = { too_large: 'tooLarge', type: 'fileType', empty: 'fileEmpty', refused: 'fileRefused' };

/**
 * What to tell the visitor about a send the server refused: for a file, its name and why in the
 * visitor's language ("photo.png is too large (max 10 MB)."), not the server's English.
 */
function describe(item, error, t, maxBytes) {
  const problem = item.file ? uploadProblem(error) : null;
  if (problem) return t(FILE_WORDS[problem], { name: item.fileName || item.file.name || 'file', max: megabytes(maxBytes) });
  return error?.message || t('failed');
}

export function createOutbox({ api, store, session, storage, t, maxBytes = 10 * 1024 * 1024, onSent, onError }) {
  const queue = createSendQueue({
    pending: () => store,
    async send(item, onProgress) {
      item.conversationId = session.id();
      const s = await session.ensure(api);
      if (item.file) {
        const { message, client_id: clientId, file, fileName, isVoice } = item;
        return api.sendFile(s.conversationId, { message, clientId, file, fileName, isVoice }, onProgress);
      }
      return api.sendText(s.conversationId, item.message, item.client_id);
    },
    failed(item, error) {
      const status = error?.status;
      if ((status === 404 || status === 403 || status === 409) && item.newConversations < 1) {
        // The conversation was closed or is gone: start a new one and send there.
        item.newConversations++;
        session.forget(item.conversationId);
        return 'again';
      }
      if (error instanceof ApiError ? error.retryable : true) return 'later';
      // What is wrong (a file too large or of a kind not taken, named; a text too long).
      const said = describe(item, error, t, maxBytes);
      onError?.(said);
      return { _error: said, _progress: null };
    },
    sent: (message, answer, fresh) => onSent?.(message, fresh),
    dropped: (item) => storage.dropOutbox(item.client_id),
    retried: (item) => {
      item.newConversations = 0;
    },
  });

  function enqueue(item, shown) {
    item.newConversations = 0;
    queue.add(item);
    if (!store.isPending(item.client_id)) store.addPending(shown);
    if (!item.file) storage.putOutbox({ client_id: item.client_id, message: item.message, created: Date.now() });
    queue.pump();
  }

  // retry, discard, kick, acknowledged (another tab got it stored) and size are the queue's.
  return Object.assign(queue, {
    /** Queues a text message; returns its client_id. */
    sendText(text) {
      const client_id = newClientId('c');
      enqueue({ client_id, message: text }, { client_id, message: text });
      return client_id;
    },

    /** Queues a file (an attachment, or a voice note when isVoice). */
    sendFile(file, { isVoice = false, fileName, message = '' } = {}) {
      const client_id = newClientId('c');
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
  });
}
