// sync.js — owns reading the conversation from the server, the source of truth. `fill()` fetches
// everything after the highest id we hold (`?after=`), page by page, and is called on every
// (re)subscribe, provider switch, `online`, tab becoming visible, and by the poller; broadcasts
// are at most once, so this is what makes "never lose a message" true. Polling is the same call
// on a timer, on only while no socket is subscribed.

import { ApiError } from './api.js';

const PAGE = 100;

export function createSync({ api, store, session, onFetched, onGone, onUnauthorized, intervalMs = 2000 }) {
  let running = null;
  let again = false;
  let pollTimer = null;
  let polling = false;
  let failures = 0;

  async function fillOnce(reason) {
    const id = session.id();
    if (id == null) return;
    for (let page = 0; page < 1000; page++) {
      const res = await api.messagesAfter(id, store.highestId(), PAGE);
      if (session.id() !== id) return; // switched conversation meanwhile: drop this answer
      store.setConversation(res.conversation);
      store.setAgentsOnline(res.agents_online);
      for (const rs of res.read_states || []) store.applyReadState(rs);
      for (const r of res.reactions || []) store.setReactions(r.message_id, r.reactions);
      const fresh = store.merge(res.messages);
      onFetched(fresh, reason);
      if (!res.has_more || !res.messages?.length) return;
    }
  }

  /** Catches up; concurrent calls share one run (plus one more if asked during it). */
  function fill(reason = 'fill') {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      try {
        do {
          again = false;
          await fillOnce(reason);
        } while (again);
        failures = 0;
      } catch (error) {
        failures++;
        if (error instanceof ApiError && (error.status === 403 || error.status === 404)) onGone(session.id());
        else if (error instanceof ApiError && error.status === 401) onUnauthorized(error);
        else if (!(error instanceof ApiError)) console.error('[chatbot] sync failed:', error);
      } finally {
        running = null;
      }
    })();
    return running;
  }

  function tick() {
    pollTimer = null;
    if (!polling) return;
    fill('poll').finally(() => {
      if (!polling || pollTimer) return;
      // Back off while the server is unreachable; slower in a hidden tab.
      let wait = intervalMs * (document.hidden ? 3 : 1);
      if (failures) wait = Math.min(30000, intervalMs * 2 ** Math.min(failures, 4));
      pollTimer = setTimeout(tick, wait);
    });
  }

  return {
    fill,
    /** Turns the poller on (no socket) or off (socket subscribed). */
    setPolling(on) {
      if (on === polling) return;
      polling = on;
      clearTimeout(pollTimer);
      pollTimer = null;
      if (on) pollTimer = setTimeout(tick, intervalMs);
    },
    get polling() {
      return polling;
    },
  };
}
