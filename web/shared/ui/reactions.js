// ui/reactions.js — owns a message's emoji reactions as the widget and the dashboard both show
// them: the chips with their counts, each toggling the reader's own, and the picker of EMOJIS
// behind a smiley button (Escape or focus leaving closes it).

import { h, svgIcon } from './dom.js';

export const EMOJIS = ['👍', '❤️', '😂', '😮', '😢', '🙏'];
const SMILE = 'M12 3a9 9 0 1 0 0 18 9 9 0 0 0 0-18zM8.5 14a4 4 0 0 0 7 0M9 9.5h.01M15 9.5h.01';

/**
 * A stored message's reaction chips (each toggles the reader's own) and the emoji picker:
 * `ctx.reactor` is who reads ('visitor' in the widget, 'agent:{id}' in the dashboard), `ctx.t` the
 * labels, `ctx.reactions` every message's reactions, `ctx.onReact(m, emoji, on)` the action.
 */
export function reactionBar(m, ctx) {
  if (m.id == null || m.sender_type === 'system') return null;
  const reactor = ctx.reactor || 'visitor';
  const list = ctx.reactions[m.id] || [];
  const row = h('div', { class: 'reacts' }); // chips only; hidden while empty
  for (const r of list) {
    if (!r.count) continue;
    const mine = Array.isArray(r.reactors) && r.reactors.includes(reactor);
    row.append(
      h('button', {
        type: 'button',
        class: 'chip',
        'aria-pressed': String(mine),
        'aria-label': ctx.t('reactWith', { emoji: r.emoji }) + ' (' + r.count + ')',
        onclick: () => ctx.onReact(m, r.emoji, !mine),
        text: ctx.t('reactionCount', { emoji: r.emoji, count: r.count }),
      }),
    );
  }
  const picker = h('div', { class: 'picker', role: 'group', 'aria-label': ctx.t('react'), hidden: true });
  const toggle = h('button', { type: 'button', class: 'addreact', 'aria-label': ctx.t('react'), 'aria-expanded': 'false' }, svgIcon(SMILE));
  const setOpen = (open) => {
    picker.hidden = !open;
    toggle.setAttribute('aria-expanded', String(open));
    if (open) picker.querySelector('button')?.focus();
  };
  for (const emoji of EMOJIS) {
    const mine = list.some((r) => r.emoji === emoji && r.reactors?.includes(reactor));
    picker.append(
      h('button', {
        type: 'button',
        'aria-label': ctx.t('reactWith', { emoji }),
        onclick: () => {
          setOpen(false);
          toggle.focus();
          ctx.onReact(m, emoji, !mine);
        },
        text: emoji,
      }),
    );
  }
  picker.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') {
      e.stopPropagation(); // close the picker, not the whole panel
      setOpen(false);
      toggle.focus();
    }
  });
  toggle.addEventListener('click', () => setOpen(picker.hidden));
  const rx = h('div', { class: 'rx' }, row, toggle, picker);
  // Close the picker when focus leaves it (a click elsewhere in the panel, Tab away).
  rx.addEventListener('focusout', (e) => {
    if (!picker.hidden && !rx.contains(e.relatedTarget)) setOpen(false);
  });
  return rx;
}
