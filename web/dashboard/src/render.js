// render.js — owns drawing what the dashboard holds and the reading rules that go with it: the
// inbox (the tab or the search results, counts, unread dots, the open row; the title's count),
// the open conversation (which reply shows "Seen", scrolled to the end when first shown), its
// details, and the team. Drawing the open conversation in a visible tab marks it read: seen in
// the inbox at once, and one POST …/read for a burst of messages.

/**
 * @param {object} o
 * @param {() => object|null} o.open the open conversation's thread
 * @param {() => string} o.tab the inbox tab shown
 * @param {() => object|null} o.self this agent
 * @param {() => object[]} o.team the team
 * @param {() => boolean} o.loaded the inbox's first listing has answered
 */
export function createRender({ api, inbox, notes, labels, notifier, layout, open, tab, self, team, loaded }) {
  const { inboxView, threadView, details, teamView } = layout;
  let readTimer = null;

  /** What is known of a thread's conversation: its inbox row, then its own latest state. */
  function conversationOf(t) {
    return Object.assign({}, inbox.get(t.state.id), t.state.conversation);
  }

  /** The last reply the visitor has read (shown "Seen"). */
  function seenId(t) {
    const read = t.state.readStates.visitor || 0;
    let seen = null;
    for (const m of t.state.messages) if (m.id != null && m.sender_type !== 'visitor' && m.sender_type !== 'system' && m.id <= read) seen = m.id;
    return seen;
  }

  /** The open conversation, shown in a visible tab, is read up to its last message. */
  function markRead() {
    const t = open();
    if (!t || !t.state.loaded || document.hidden) return;
    const last = t.highestId();
    inbox.markSeen(t.state.id, last);
    if (last <= (t.state.readStates.agent || 0)) return;
    t.applyReadState({ reader: 'agent', last_read_id: last });
    clearTimeout(readTimer);
    const id = t.state.id;
    readTimer = setTimeout(() => api.markRead(id, last).catch(() => {}), 300); // a burst, one request
  }

  return {
    conversationOf,
    markRead,

    inbox() {
      const current = open();
      const counts = inbox.counts();
      const query = inbox.searching();
      const shown = inbox.filtering() ? 'search' : tab();
      inboxView.render({
        tab: shown,
        query,
        rows: inbox.list(shown),
        counts,
        openId: current?.state.id ?? null,
        hasMore: inbox.hasMore(shown),
        loading: inbox.isLoading(shown) && (shown === 'search' || !loaded()),
        unread: (c) => inbox.unread(c) && c.id !== current?.state.id,
        handoff: inbox.handoff,
        matched: (c) => inbox.matched(c.id),
        selfName: self()?.name,
        labels: labels.all(),
      });
      notifier.setCount(counts.waiting.total + counts.mine.unread);
    },

    thread({ forceScroll = false } = {}) {
      const t = open();
      if (!t) {
        details.render(null);
        return;
      }
      const first = t.state.loaded && !t._shown;
      if (first) t._shown = true;
      const conversation = conversationOf(t);
      if (!notes.loaded(t.state.id)) notes.load(t.state.id).catch(() => {});
      threadView.render({
        conversation,
        messages: t.state.messages,
        notes: notes.list(t.state.id),
        labels: labels.all(),
        loaded: t.state.loaded,
        selfId: self()?.id,
        team: team(),
        seenId: seenId(t),
        reactions: t.state.reactions,
        forceScroll: forceScroll || first,
      });
      details.render(conversation, team());
      markRead();
    },

    team() {
      teamView.render(team(), self()?.id);
    },

    stop() {
      clearTimeout(readTimer);
    },
  };
}
