// ui/thread.js — owns the conversation pane: its header (visitor name, status, assignee picker
// and the actions "Assign to me", "Transfer" (a dialog: ui/transfer.js), "Hand back to bot",
// "Close", "Reopen"), its labels and their picker, the message list with the agents' private
// notes in their place (an ordered list, keyed by client_id or id, so updates touch only what
// changed and the scroll position is kept unless the agent was at the bottom), the typing line,
// the reply composer (files dropped on the pane go to it), and the empty state when no
// conversation is open.

import { h } from '../../../shared/ui/dom.js';
import { icon } from './icons.js';
import { renderMessage } from './message.js';
import { createComposer } from './composer.js';
import { bindDrop } from './attach.js';
import { visitorName } from './inbox.js';
import { interleave, renderPrivateNote } from './private-note.js';
import { createLabelPicker } from './labels.js';
import { statusKey, statusLabel } from '../../../shared/ui/status.js';

export function createThreadView({ base, onSend, onAttach, onTyping, onNote, onAction, onRetry, onDiscard, onReact, onBack, savedReplies, team, extraActions = [] }) {
  const title = h('h2', { id: 'pd-conv-title', tabindex: -1 });
  const status = h('span', { class: 'status-pill' });
  const assignee = h('select', { id: 'pd-assignee', 'aria-label': 'Assigned to' });
  assignee.addEventListener('change', () => onAction('assign', assignee.value === '' ? null : Number(assignee.value)));
  const buttons = {
    assignMe: h('button', { type: 'button', class: 'primary', text: 'Assign to me', onclick: () => onAction('assignMe') }),
    transfer: h('button', { type: 'button', class: 'ghost', text: 'Transfer', 'aria-haspopup': 'dialog', onclick: (e) => onAction('transfer', e.currentTarget) }),
    bot: h('button', { type: 'button', class: 'ghost', text: 'Hand back to bot', onclick: () => onAction('status', 'bot') }),
    close: h('button', { type: 'button', class: 'ghost', text: 'Close', onclick: () => onAction('status', 'closed') }),
    reopen: h('button', { type: 'button', class: 'primary', text: 'Reopen', onclick: () => onAction('status', 'human') }),
  };
  const back = h('button', { type: 'button', class: 'ghost back', 'aria-label': 'Back to the inbox', onclick: onBack }, icon('back'));
  const head = h(
    'header',
    { class: 'conv-head' },
    back,
    h('div', { class: 'who' }, title, status),
    h('div', { class: 'actions', role: 'group', 'aria-label': 'Conversation actions' }, h('label', { class: 'assignee' }, h('span', { class: 'sr', text: 'Assigned to' }), assignee), ...Object.values(buttons), ...extraActions),
  );
  const labelPicker = createLabelPicker({ onChange: (ids) => onAction('labels', ids) });
  const list = h('ol', { class: 'messages', 'aria-labelledby': 'pd-conv-title', tabindex: 0 });
  const loading = h('p', { class: 'loading', text: 'Loading the conversation…' });
  const typingRow = h('div', { class: 'typing', 'aria-live': 'polite' });
  const composer = createComposer({ onSend, onAttach, onTyping, onNote, savedReplies, team });
  const placeholder = h('div', { class: 'placeholder' }, h('p', { text: 'Choose a conversation from the inbox.' }));
  const pane = h('div', { class: 'pane', hidden: true }, head, labelPicker.el, loading, list, typingRow, composer.el);
  const el = h('section', { class: 'conversation', 'aria-label': 'Conversation' }, placeholder, pane);
  const unbindDrop = bindDrop(pane, composer.attachFiles);

  const nodes = new Map();
  let shownId = null;

  const atBottom = () => list.scrollHeight - list.scrollTop - list.clientHeight < 80;
  const scrollToEnd = () => {
    list.scrollTop = list.scrollHeight;
  };

  function renderHead(c, ctx) {
    const name = visitorName(c);
    title.textContent = name;
    status.textContent = statusLabel(c);
    status.dataset.status = statusKey(c) || '';
    const mine = c.assigned_agent_id != null && c.assigned_agent_id === ctx.selfId;
    buttons.assignMe.hidden = mine || c.status === 'closed';
    buttons.transfer.hidden = c.status === 'closed';
    buttons.bot.hidden = c.status !== 'human';
    buttons.close.hidden = c.status === 'closed';
    buttons.reopen.hidden = c.status !== 'closed';
    const options = [h('option', { value: '', text: 'Unassigned' })];
    const team = [...(ctx.team || [])];
    if (c.assigned_agent_id != null && !team.some((a) => a.id === c.assigned_agent_id)) team.push({ id: c.assigned_agent_id, name: 'Agent #' + c.assigned_agent_id });
    for (const a of team) options.push(h('option', { value: String(a.id), text: (a.name || 'Agent #' + a.id) + (a.id === ctx.selfId ? ' (you)' : '') }));
    const sig = options.map((o) => o.value + o.textContent).join('|');
    if (assignee._sig !== sig) {
      assignee._sig = sig;
      assignee.replaceChildren(...options);
    }
    assignee.value = c.assigned_agent_id != null ? String(c.assigned_agent_id) : '';
    assignee.disabled = c.status === 'closed';
    composer.setContext({ name, status: c.status });
    labelPicker.render(ctx.labels || [], Array.isArray(c.labels) ? c.labels : []);
  }

  return {
    el,
    composer,
    /** Shows conversation `id` (or the empty state for null); clears what the last one showed. */
    show(id) {
      if (id === shownId) return;
      shownId = id;
      placeholder.hidden = id != null;
      pane.hidden = id == null;
      el.classList.toggle('has-conversation', id != null);
      for (const node of nodes.values()) node.remove();
      nodes.clear();
      labelPicker.close();
      typingRow.replaceChildren();
      composer.reset();
      loading.hidden = false;
    },
    /** ctx: {conversation, messages, loaded, selfId, team, seenId, reactions, onMediaLoad} */
    render(ctx) {
      if (shownId == null) return;
      const c = ctx.conversation || { id: shownId };
      renderHead(c, ctx);
      loading.hidden = !!ctx.loaded;
      const stick = atBottom();
      const mctx = { base, visitorName: visitorName(c), seenId: ctx.seenId, reactions: ctx.reactions || {}, selfId: ctx.selfId, onRetry, onDiscard, onReact, onMediaLoad: () => stick && scrollToEnd() };
      const seen = new Set();
      let prev = null;
      const name = (id) => (ctx.team || []).find((a) => a.id === id)?.name || null;
      for (const item of interleave(ctx.messages, ctx.notes || [])) {
        const key = item.note ? 'note:' + item.note.id : item.message._key;
        seen.add(key);
        const existing = nodes.get(key);
        const node = item.note ? renderPrivateNote(existing, item.note, { name }) : renderMessage(existing, item.message, mctx);
        if (node !== existing) nodes.set(key, node);
        const want = prev ? prev.nextSibling : list.firstChild;
        if (want !== node) list.insertBefore(node, want);
        prev = node;
      }
      for (const [key, node] of nodes) {
        if (!seen.has(key)) {
          node.remove();
          nodes.delete(key);
        }
      }
      if (stick || ctx.forceScroll) scrollToEnd();
    },
    scrollToEnd,
    stop: unbindDrop,
    setTyping(label) {
      typingRow.replaceChildren();
      if (label) typingRow.append(h('span', { class: 'dots', 'aria-hidden': 'true' }, h('i'), h('i'), h('i')), h('span', { text: label }));
    },
    focusTitle: () => title.focus(),
    get shownId() {
      return shownId;
    },
  };
}
