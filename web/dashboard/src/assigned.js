// assigned.js — owns what this agent hears on their own channel about conversations given to them
// or taken from them: `ConversationAssigned` (automatic assignment, or a colleague's transfer with
// their note) puts the conversation in Mine at once, adds the note to its thread, and tells the
// agent (read out, the notifier, a toast that opens it); `ConversationUnassigned` (no reply in
// time, or someone passed it on) says so. An event too large to send whole (`truncated`, ids
// only) refreshes the inbox instead.

import { visitorName } from './ui/inbox.js';

/**
 * @param {object} o
 * @param {() => object|null} o.open the open conversation's thread
 * @param {(id: number|null) => void} o.navigate opens a conversation
 */
export function createAssignedNotices({ inbox, threads, notes, notifier, layout, open, navigate }) {
  const idOf = (data) => {
    const id = Number(data.conversation_id);
    return Number.isSafeInteger(id) && id > 0 ? id : null;
  };
  const who = (data, id) => visitorName(Object.assign({ id }, inbox.get(id), typeof data.visitor_name === 'string' ? { visitor_name: data.visitor_name } : {}));
  const byName = (data) => (typeof data.by?.name === 'string' && data.by.name ? data.by.name : null);

  function tell(text, id, { toOpen = true, ms = 15000 } = {}) {
    layout.announce(text);
    if (open()?.state.id === id) return;
    layout.toast(text, toOpen ? { action: { label: 'Open', run: () => navigate(id) }, ms } : { ms });
  }

  return {
    assigned(data) {
      const id = idOf(data);
      if (id == null) return;
      const c = data.conversation && typeof data.conversation === 'object' ? data.conversation : null;
      if (c) {
        inbox.upsert(c);
        threads.get(id)?.setConversation(c);
      } else inbox.refresh(['mine', 'waiting']);
      const note = data.note && typeof data.note === 'object' ? notes.add(data.note) : null;
      const by = byName(data);
      const name = who(data, id);
      const text =
        data.reason === 'transfer' && by
          ? by + ' transferred ' + name + ' to you' + (note?.body ? ': ' + note.body.replace(/\s+/g, ' ').slice(0, 140) : '.')
          : name + ' is assigned to you.';
      notifier.notify('assigned', text, id);
      tell(text, id);
    },

    unassigned(data) {
      const id = idOf(data);
      if (id == null) return;
      const name = who(data, id);
      const by = byName(data);
      const to = typeof data.to?.name === 'string' ? data.to.name : 'another agent';
      const minutes = Number(data.minutes);
      const text =
        data.reason === 'no_reply'
          ? name + ' went back to the queue: no reply within ' + (Number.isFinite(minutes) ? minutes + ' minute' + (minutes === 1 ? '' : 's') : 'the time allowed') + '.'
          : (by || 'Someone') + ' transferred ' + name + ' to ' + to + '.';
      tell(text, id, { toOpen: false, ms: 10000 });
    },
  };
}
