// session.js — owns which conversation this visitor is in: it resumes the one kept in storage,
// starts one on the first send (not on page load, so visitors who never chat cost the server
// nothing), shares it with the other tabs, and forgets it when the server says it is gone or
// closed so the next message starts a fresh one.

import { createEmitter } from './emitter.js';

export function createSession({ storage, user, pageUrl }) {
  const events = createEmitter();
  let current = storage.session();
  let starting = null;

  function set(next, fromOtherTab) {
    const before = current?.conversationId ?? null;
    current = next;
    if (!fromOtherTab) storage.setSession(next);
    if ((next?.conversationId ?? null) !== before) events.emit('change', next);
  }

  return {
    on: events.on,
    get: () => current,
    id: () => current?.conversationId ?? null,

    /** The conversation to send to, started if needed; one start at a time. */
    ensure(api) {
      if (current) return Promise.resolve(current);
      if (!starting) {
        const u = user();
        const body = {};
        if (u.name) body.visitor_name = String(u.name).slice(0, 100);
        if (u.email) body.visitor_email = String(u.email).slice(0, 254);
        if (pageUrl) body.page_url = pageUrl.slice(0, 2000);
        starting = api
          .startConversation(body)
          // A site passing a bad visitorEmail must not leave the visitor unable to chat.
          .catch((error) => (error?.status === 422 ? api.startConversation(pageUrl ? { page_url: body.page_url } : {}) : Promise.reject(error)))
          .then((res) => {
            const id = Number(res?.conversation?.id);
            if (!Number.isSafeInteger(id) || typeof res.visitor_token !== 'string') throw new Error('bad conversation answer');
            // Another tab may have started one meanwhile: keep theirs only if we have none.
            if (!current) set({ conversationId: id, visitorToken: res.visitor_token, started: Date.now() });
            return current;
          })
          .finally(() => {
            starting = null;
          });
      }
      return starting;
    },

    /** Takes over a conversation reopened from a mailed link (another device, another browser). */
    resume(conversationId, visitorToken) {
      set({ conversationId, visitorToken, started: Date.now() });
    },

    /** The server no longer accepts this conversation (closed, deleted, token revoked). */
    forget(conversationId) {
      if (current && (conversationId == null || current.conversationId === conversationId)) set(null);
    },

    /** Another tab changed the session (storage event or BroadcastChannel). */
    adopt(next) {
      if (next === undefined) return;
      const valid = next && Number.isInteger(next.conversationId) && typeof next.visitorToken === 'string';
      const same = (current?.conversationId ?? null) === (valid ? next.conversationId : null);
      if (!same) set(valid ? next : null, true);
    },
  };
}
