// sync.js — owns reading the open conversation from the server, the source of truth. `fill()`
// fetches everything after the thread's cursor (`?after=`), page by page, and runs on opening a
// conversation, on every (re)subscribe of its channel, on `online` and on the tab becoming
// visible; broadcasts are at most once, so this is what makes "nothing lost" true (the thread's
// dedupe makes "nothing doubled" true). The cursor is the highest id up to which nothing is
// missing, not the highest id held, so a message seen early by another route cannot hide a gap.
// Polling is the same call on a timer, on only while the conversation's channel is not live.

import { ApiError } from './api.js';
import { createCatchUp } from '../../shared/catch-up.js';

const PAGE = 200;

export function createSync({ api, current, onFetched, onGone, intervalMs = 2500 }) {
  async function fillOnce(reason) {
    const thread = current();
    if (!thread) return;
    for (let page = 0; page < 1000; page++) {
      const res = await api.conversation(thread.state.id, thread.state.cursor, PAGE);
      if (current() !== thread) return; // another conversation was opened meanwhile
      // The visitor's rating, when there is one, is shown with the conversation's details.
      thread.setConversation(res.rating !== undefined && res.conversation ? Object.assign({}, res.conversation, { rating: res.rating }) : res.conversation);
      for (const rs of res.read_states || []) thread.applyReadState(rs);
      for (const r of res.reactions || []) thread.setReactions(r.message_id, r.reactions);
      const messages = Array.isArray(res.messages) ? res.messages : [];
      const fresh = thread.merge(messages);
      for (const m of messages) thread.advance(m?.id);
      thread.setLoaded();
      onFetched(thread, fresh, reason, res);
      const more = res.has_more ?? messages.length >= PAGE;
      if (!more || !messages.length) return;
    }
  }

  return createCatchUp({
    fillOnce,
    intervalMs,
    onError(error) {
      const thread = current();
      if (error instanceof ApiError && (error.status === 403 || error.status === 404)) onGone(thread?.state.id, error);
      else if (!(error instanceof ApiError)) console.error('[dashboard] sync failed:', error);
    },
  });
}
