// sync.js — owns reading the conversation from the server, the source of truth. `fill()` fetches
// everything after its cursor (`?after=`), page by page, and is called on every (re)subscribe,
// provider switch, `online`, tab becoming visible, and by the poller; broadcasts are at most
// once, so this is what makes "never lose a message" true. The cursor is the highest id up to
// which nothing is missing, moved only by these fills: a socket can miss one event and still get
// the next (its node lost the relay from another node), so the highest id held may sit above a
// gap. Polling is the same call on a timer, on only while no socket is subscribed.

import { ApiError } from './api.js';
import { createCatchUp } from '../../shared/catch-up.js';

const PAGE = 100;

export function createSync({ api, store, session, onFetched, onGone, onUnauthorized, intervalMs = 2000 }) {
  const cursor = { conversationId: null, after: 0 };

  async function fillOnce(reason) {
    const id = session.id();
    if (id == null) return;
    if (cursor.conversationId !== id) Object.assign(cursor, { conversationId: id, after: 0 });
    // Everything up to the cursor is in the store, unless the store was emptied since.
    cursor.after = Math.min(cursor.after, store.highestId());
    for (let page = 0; page < 1000; page++) {
      const events = store.conversationEvents();
      const agentsOnline = store.readingAgentsOnline();
      const res = await api.messagesAfter(id, cursor.after, PAGE);
      if (session.id() !== id) return; // switched conversation meanwhile: drop this answer
      for (const m of res.messages || []) if (Number(m?.id) > cursor.after) cursor.after = Number(m.id);
      // A status or availability event that came while this was read may be newer than what
      // was read: keep the event, and read once more (a read begun now sees at least what the
      // event said).
      const current = store.conversationEvents() === events;
      if (current) store.setConversation(res.conversation);
      if (!agentsOnline(res.agents_online) || !current) queueMicrotask(() => catchUp.fill('event'));
      store.setAvailability(res.availability);
      store.setRating(res.rating);
      for (const rs of res.read_states || []) store.applyReadState(rs);
      for (const r of res.reactions || []) store.setReactions(r.message_id, r.reactions);
      const fresh = store.merge(res.messages);
      onFetched(fresh, reason);
      if (!res.has_more || !res.messages?.length) return;
    }
  }

  const catchUp = createCatchUp({
    fillOnce,
    intervalMs,
    hiddenFactor: 3,
    onError(error) {
      if (error instanceof ApiError && (error.status === 403 || error.status === 404)) onGone(session.id());
      else if (error instanceof ApiError && error.status === 401) onUnauthorized(error);
      else if (!(error instanceof ApiError)) console.error('[chatbot] sync failed:', error);
    },
  });
  return catchUp;
}
