// ui/transfer.js — owns the "Transfer" dialog of the open conversation: the agents it may go to
// (radio buttons in one group, so arrow keys move between them), each with whether they are
// online and how many open conversations they have, an optional private note for them, and
// Transfer / Cancel. A native modal <dialog>: the focus moves into it, Escape closes it, and the
// focus goes back to the Transfer button. A refusal is said in the dialog, which stays open.

import { h } from '../../../shared/ui/dom.js';
import { ensureAdminStyles } from '../admin/style.js';

const STATE = { online: 'online', away: 'away', offline: 'offline' };

/** @param {{onSubmit: (agent: {id: number, name: string}, note: string) => Promise<void>}} o */
export function createTransferDialog({ onSubmit }) {
  ensureAdminStyles();
  const intro = h('p', { class: 'muted' });
  const group = h('fieldset', { class: 'adm-visitors transfer-agents' }, h('legend', { text: 'To' }));
  const note = h('textarea', { id: 'pd-transfer-note', rows: 3, maxlength: 5000, 'aria-describedby': 'pd-transfer-note-hint' });
  const error = h('p', { class: 'error', role: 'alert' });
  const submit = h('button', { type: 'submit', class: 'primary', text: 'Transfer' });
  const cancel = h('button', { type: 'button', class: 'ghost', text: 'Cancel' });
  const form = h(
    'form',
    { novalidate: true, 'aria-labelledby': 'pd-transfer-title' },
    intro,
    group,
    h(
      'div',
      { class: 'adm-field' },
      h('label', { for: 'pd-transfer-note', text: 'Note for them (optional)' }),
      note,
      h('p', { class: 'hint', id: 'pd-transfer-note-hint', text: 'Kept as a private note that mentions them. The visitor never sees it.' }),
    ),
    error,
    h('div', { class: 'dialog-actions' }, cancel, submit),
  );
  const el = h('dialog', { class: 'sessions-dialog transfer-dialog', 'aria-labelledby': 'pd-transfer-title' }, h('h2', { id: 'pd-transfer-title', text: 'Transfer the conversation' }), form);
  let opener = null;
  let agents = [];

  cancel.addEventListener('click', () => el.close());
  el.addEventListener('close', () => opener?.focus());
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const chosen = group.querySelector('input:checked');
    const agent = agents.find((a) => String(a.id) === chosen?.value);
    if (!agent) {
      error.textContent = 'Choose whom to transfer it to.';
      return group.querySelector('input')?.focus();
    }
    error.textContent = '';
    submit.disabled = true;
    try {
      await onSubmit(agent, note.value.trim());
      el.close();
    } catch (err) {
      error.textContent = 'Could not transfer it: ' + (err?.message || 'something went wrong') + '.';
    } finally {
      submit.disabled = false;
    }
  });

  /** One agent's line: name, whether they are online, their open conversations (of the capacity). */
  function describe(a, assignment) {
    const state = a.online ? 'online' : STATE[a.availability] === 'away' ? 'away' : 'offline';
    const open = Number(a.open_conversations) || 0;
    const of = assignment?.mode && assignment.mode !== 'off' && assignment.capacity ? ' of ' + assignment.capacity : '';
    return state + ', ' + open + of + ' open';
  }

  return {
    el,
    /**
     * Opens the dialog for the conversation of `visitor`: `list` the agents it may go to,
     * `assignment` the widget's {mode, capacity}; `from` gets the focus back.
     */
    open(from, { visitor, list, assignment }) {
      opener = from || document.activeElement;
      agents = list;
      intro.textContent = 'Give ' + visitor + ' to another agent. They are told at once, with your note.';
      error.textContent = '';
      note.value = '';
      for (const node of [...group.children]) if (node.tagName !== 'LEGEND') node.remove();
      if (!list.length) group.append(h('p', { class: 'muted', text: 'Nobody else answers this widget.' }));
      // The first one online with room is chosen to begin with.
      const capacity = assignment?.mode !== 'off' ? Number(assignment?.capacity) || Infinity : Infinity;
      const first = list.find((a) => a.online && (Number(a.open_conversations) || 0) < capacity) || list[0];
      for (const a of list) {
        const id = 'pd-transfer-to-' + a.id;
        const radio = h('input', { type: 'radio', name: 'pd-transfer-to', id, value: String(a.id), checked: a === first });
        group.append(
          h(
            'div',
            { class: 'adm-field adm-check transfer-agent' },
            radio,
            h('label', { for: id }, h('b', { text: a.name }), h('span', { class: 'muted', text: ' · ' + describe(a, assignment) })),
          ),
        );
      }
      submit.disabled = !list.length;
      if (!el.open) el.showModal();
      (group.querySelector('input:checked') || cancel).focus();
    },
    get isOpen() {
      return el.open;
    },
  };
}
