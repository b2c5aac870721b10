// transfer.js — owns transferring the open conversation to another agent: asks the server who may
// take it (GET …/transfer: the agents who answer its widget, with whether they are online and
// their load), shows the Transfer dialog (ui/transfer.js), and sends the choice with the optional
// note (POST …/transfer). The answer updates the thread, the inbox row and the notes at once; the
// events that follow say the same to every dashboard.

import { createTransferDialog } from './ui/transfer.js';
import { visitorName } from './ui/inbox.js';

/**
 * @param {object} o
 * @param {() => object|null} o.open the open conversation's thread
 * @param {() => object|null} o.self this agent
 * @param {(t: object) => object} o.conversationOf what is known of a thread's conversation
 */
export function createTransfer({ api, inbox, notes, layout, open, self, conversationOf }) {
  let dialog = null;
  let conversationId = null;

  async function submit(agent, note) {
    const id = conversationId;
    const res = await api.transfer(id, agent.id, note || undefined);
    const t = open();
    if (res?.conversation) {
      if (t && t.state.id === id) t.setConversation(res.conversation);
      inbox.upsert(res.conversation);
    }
    if (res?.note) notes.add(res.note);
    layout.announce('Transferred to ' + agent.name + '.');
  }

  function view() {
    if (!dialog) {
      dialog = createTransferDialog({ onSubmit: submit });
      layout.shell.append(dialog.el);
    }
    return dialog;
  }

  return {
    /** Opens the dialog for the open conversation; `from` gets the focus back. */
    async open(from) {
      const t = open();
      if (!t) return;
      conversationId = t.state.id;
      let res;
      try {
        res = await api.transferTargets(conversationId);
      } catch (error) {
        if (error?.status !== 401) layout.toast('Could not list who may take it: ' + error.message, { error: true });
        return;
      }
      if (open() !== t) return;
      const me = self()?.id;
      const list = (Array.isArray(res?.agents) ? res.agents : [])
        .filter((a) => Number.isSafeInteger(Number(a?.id)) && typeof a.name === 'string' && a.id !== me)
        // Online first, then the least busy, then by name.
        .sort((a, b) => Number(b.online) - Number(a.online) || (a.open_conversations || 0) - (b.open_conversations || 0) || a.name.localeCompare(b.name));
      view().open(from, { visitor: visitorName(conversationOf(t)), list, assignment: res?.assignment || null });
    },
    stop() {
      if (dialog?.isOpen) dialog.el.close();
    },
  };
}
