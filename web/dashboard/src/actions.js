// actions.js — owns what the agent does to the open conversation: replies and file replies
// (through the outbox, the caption with the first file), Assign (to me, to another agent, to
// nobody), Transfer (to another agent, with a note: transfer.js), Close / Reopen / Hand back to
// the bot, labels, private notes, and reactions; each outcome is announced to
// screen readers, each failure is a toast (a 401 signs out instead).

import { createTransfer } from './transfer.js';

// The server's default; /api/agent/me may say otherwise, and the server's 413 is the last word.
const MAX_UPLOAD_BYTES = 10 * 1024 * 1024;

/**
 * @param {object} o
 * @param {() => object|null} o.open the open conversation's thread
 * @param {() => string} o.name this agent's name on its replies
 * @param {object} o.limits /api/agent/me's `limits`
 * @param {() => void} o.renderThread draws the open conversation again
 * @param {() => object|null} o.self this agent
 * @param {(t: object) => object} o.conversationOf what is known of a thread's conversation
 */
export function createActions({ api, outbox, inbox, notes, layout, open, name, limits, renderThread, self = () => null, conversationOf = (t) => t.state.conversation || {} }) {
  const { threadView, announce, toast } = layout;
  const transfer = createTransfer({ api, inbox, notes, layout, open, self, conversationOf });

  return {
    send(text) {
      const current = open();
      if (!current) return;
      outbox.send(current.state.id, text, name());
      threadView.scrollToEnd();
    },

    /** Files as replies; the caption goes with the first. */
    attach(files, caption) {
      const current = open();
      if (!current) return;
      const maxBytes = Number(limits?.max_upload_bytes) || MAX_UPLOAD_BYTES;
      files.forEach((file, i) => outbox.sendFile(current.state.id, { file, caption: i ? '' : caption, maxBytes }, name()));
      threadView.scrollToEnd();
    },

    async act(action, arg) {
      const t = open();
      if (!t) return;
      const id = t.state.id;
      if (action === 'transfer') return transfer.open(arg);
      try {
        let res;
        if (action === 'assignMe') res = await api.assign(id);
        else if (action === 'assign') res = await api.assign(id, arg);
        else if (action === 'status') res = await api.setStatus(id, arg);
        else if (action === 'labels') {
          const answer = await api.setLabels(id, arg);
          const labels = Array.isArray(answer?.label_ids) ? answer.label_ids : arg;
          t.setConversation({ labels });
          if (inbox.get(id)) inbox.upsert({ id, labels });
          return announce('Labels saved.');
        } else return;
        if (res?.conversation) {
          t.setConversation(res.conversation);
          inbox.upsert(res.conversation);
        }
        const done = { assignMe: 'Assigned to you.', assign: arg == null ? 'Unassigned.' : 'Assigned.', status: { closed: 'Conversation closed.', bot: 'Handed back to the bot.', human: 'Conversation reopened.' }[arg] };
        announce(typeof done[action] === 'string' ? done[action] : 'Done.');
      } catch (error) {
        if (error?.status !== 401) toast('Could not do that: ' + error.message, { error: true });
        renderThread(); // put the assignee picker back
      }
    },

    /** A private note (and whom it mentions); a refusal keeps the text in a toast. */
    async note(text, mentionIds) {
      const t = open();
      if (!t) return;
      try {
        await notes.write(t.state.id, text, mentionIds);
        announce('Note added.');
        threadView.scrollToEnd();
      } catch (error) {
        if (error?.status !== 401) toast('Could not add the note: ' + error.message + ' (' + text.slice(0, 60) + ')', { error: true });
      }
    },

    /** Adds or removes this agent's reaction; the answer (and the event) carry the new set. */
    async react(m, emoji, on) {
      const t = open();
      if (!t || m.id == null) return;
      try {
        const res = await api.react(t.state.id, m.id, emoji, on);
        // setReactions re-renders the thread, as for the ReactionsUpdated event.
        if (res?.reactions) t.setReactions(res.reactions.message_id, res.reactions.reactions);
      } catch (error) {
        if (error?.status !== 401) toast('Could not react: ' + error.message, { error: true });
      }
    },

    stop: () => transfer.stop(),
  };
}
