// session.js — owns which conversation this visitor is in: it resumes the one kept in storage,
// starts one on the first send (not on page load, so visitors who never chat cost the server
// nothing), shares it with the other tabs, and forgets it when the server says it is gone or
// closed so the next message starts a fresh one. A signed-in visitor's conversation is keyed by
// their user (`userKey`): another user's, or an anonymous page after sign-out, does not resume it;
// one reopened from another device has no visitor token here, only the page's user credential.

import { createEmitter } from './emitter.js';

export function createSession({ storage, user, pageUrl, userKey = null, locale = () => null }) {
  const events = createEmitter();
  let current = storage.session();
  let starting = null;
  let answers = null; // the pre-chat form's, kept for the next conversation of this page
  // A conversation kept for another user (or for a user, on a page that names none) is not ours.
  if (current && (current.userKey ?? null) !== userKey && current.userKey != null) {
    current = null;
    storage.setSession(null);
  }
  if (current && userKey && !current.userKey) {
    // An anonymous visitor signed in: the server attaches the conversation on the next call.
    current = Object.assign({}, current, { userKey });
    storage.setSession(current);
  }

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

    /**
     * The conversation to send to, started if needed; one start at a time. `formAnswers` (the
     * pre-chat form's) are sent when given, else the last ones this page sent.
     */
    ensure(api, formAnswers) {
      if (current) return Promise.resolve(current);
      if (formAnswers) answers = formAnswers;
      if (!starting) {
        const u = user();
        const body = {};
        if (u.name) body.visitor_name = String(u.name).slice(0, 100);
        if (u.email) body.visitor_email = String(u.email).slice(0, 254);
        if (answers) Object.assign(body, answers);
        if (pageUrl) body.page_url = pageUrl.slice(0, 2000);
        if (locale()) body.locale = locale();
        // A site passing a bad visitorEmail must not leave the visitor unable to chat; the
        // form's own answers are the visitor's to correct, so their refusal is returned.
        const retry = (error) =>
          error?.status === 422 && !answers ? api.startConversation(Object.assign({}, body, { visitor_name: undefined, visitor_email: undefined })) : Promise.reject(error);
        starting = api
          .startConversation(body)
          .catch(retry)
          .then((res) => {
            const id = Number(res?.conversation?.id);
            const token = res?.visitor_token;
            if (!Number.isSafeInteger(id) || (typeof token !== 'string' && !(token === null && userKey))) throw new Error('bad conversation answer');
            // Another tab may have started one meanwhile: keep theirs only if we have none.
            if (!current) set({ conversationId: id, visitorToken: token, userKey, started: Date.now() });
            return current;
          })
          .finally(() => {
            starting = null;
          });
      }
      return starting;
    },

    /** Takes up a signed-in user's conversation found on the server (opened on another device). */
    takeUp(conversationId) {
      if (!current && userKey && Number.isSafeInteger(conversationId)) set({ conversationId, visitorToken: null, userKey, started: Date.now() });
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
      const valid =
        next &&
        Number.isInteger(next.conversationId) &&
        (next.userKey ?? null) === userKey &&
        (typeof next.visitorToken === 'string' || (next.visitorToken === null && userKey));
      const same = (current?.conversationId ?? null) === (valid ? next.conversationId : null);
      if (!same) set(valid ? next : null, true);
    },
  };
}
