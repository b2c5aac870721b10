// ui/private-note.js — owns how an agents' private note looks in the conversation pane: marked
// "Private note" (for agents only; the visitor never sees it), its author and time, its text (as
// text, http(s) links made safe), and the agents it mentions. Rebuilt only when it changed.

import { h, linkify, formatTime } from '../../../shared/ui/dom.js';

/** Creates or refreshes the node for note `n`; `ctx.name(id)` names a team member. */
export function renderPrivateNote(node, n, ctx) {
  const sig = [n.id, n.body, n.agent_name, n.created_at, n.mentions.map(ctx.name).join(',')].join('\u0000');
  if (node && node._sig === sig) return node;
  const time = formatTime(n.created_at);
  const mentioned = n.mentions.map(ctx.name).filter(Boolean);
  const next = h(
    'li',
    { class: 'msg private-note', 'data-key': 'note:' + n.id, 'aria-label': 'Private note from ' + (n.agent_name || 'an agent') },
    h('div', { class: 'meta' }, h('span', { class: 'tag note-tag', text: 'Private note' }), h('b', { class: 'who', text: n.agent_name || 'Agent' }), h('time', { datetime: n.created_at || '', title: time.long, text: time.short })),
    h('div', { class: 'bubble' }, h('div', { class: 'text', dir: 'auto' }, linkify(n.body))),
    mentioned.length ? h('div', { class: 'mentioned', text: 'Mentions ' + mentioned.join(', ') }) : null,
  );
  next._sig = sig;
  if (node) node.replaceWith(next);
  return next;
}

/** Messages and notes in one sequence: each note before the first message written after it. */
export function interleave(messages, notes) {
  if (!notes.length) return messages.map((message) => ({ message }));
  const out = [];
  let i = 0;
  for (const message of messages) {
    const at = Date.parse(message.timestamp || '');
    while (i < notes.length && (!Number.isFinite(at) || Date.parse(notes[i].created_at || '') <= at)) out.push({ note: notes[i++] });
    out.push({ message });
  }
  while (i < notes.length) out.push({ note: notes[i++] });
  return out;
}
