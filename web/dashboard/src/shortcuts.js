// shortcuts.js — owns the dashboard's keyboard shortcuts and their help (`?`): j / k the next or
// previous conversation in the list shown (the conversation's title then has the focus, ready
// for r), r reply, n private note, a assign to me, x close, / search. Single keys act only when
// the agent is not typing (the focus is not in a text field, a select or a dialog) and no Ctrl,
// Alt or Meta is held, so they never eat text; Alt+↓ and Alt+↑ move between conversations
// from anywhere, the reply box included.

import { h } from '../../shared/ui/dom.js';
import { ensureAdminStyles } from './admin/style.js';

/** What the help lists: [keys, what they do]. */
export const SHORTCUTS = [
  ['j or Alt+↓', 'Next conversation in the list'],
  ['k or Alt+↑', 'Previous conversation in the list'],
  ['r', 'Reply to the open conversation'],
  ['n', 'Write a private note'],
  ['a', 'Assign the open conversation to me'],
  ['x', 'Close the open conversation'],
  ['/', 'Search conversations'],
  ['?', 'Show these shortcuts'],
];

/** Whether the agent is typing somewhere, or a dialog has the focus. */
function busy(target) {
  if (!(target instanceof Element)) return false;
  if (target.closest('dialog')) return true;
  return target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName);
}

/**
 * @param {object} o
 * @param {() => number[]} o.rows the ids of the conversations listed, in order
 * @param {() => number|null} o.openId the open conversation
 * @param {(id: number) => void} o.navigate opens a conversation
 * @param {(mode: 'reply'|'note') => void} o.compose focuses the box in that mode
 * @param {(action: string, arg?: string) => void} o.act an action on the open conversation
 * @param {() => void} o.search focuses the search field
 */
export function createShortcuts({ rows, openId, navigate, compose, act, search }) {
  ensureAdminStyles();
  const close = h('button', { type: 'button', class: 'ghost', text: 'Close' });
  const help = h(
    'dialog',
    { class: 'sessions-dialog shortcuts-dialog', 'aria-labelledby': 'pd-keys-title' },
    h('h2', { id: 'pd-keys-title', text: 'Keyboard shortcuts' }),
    h('p', { class: 'muted', text: 'When you are not typing in a box.' }),
    h(
      'table',
      { class: 'shortcuts' },
      h('thead', null, h('tr', null, h('th', { scope: 'col', text: 'Key' }), h('th', { scope: 'col', text: 'Does' }))),
      h('tbody', null, ...SHORTCUTS.map(([key, what]) => h('tr', null, h('td', null, h('kbd', { text: key })), h('td', { text: what })))),
    ),
    h('div', { class: 'dialog-actions' }, close),
  );
  let opener = null;
  close.addEventListener('click', () => help.close());
  help.addEventListener('close', () => opener?.focus?.());

  function step(by) {
    const ids = rows();
    if (!ids.length) return;
    const at = ids.indexOf(openId());
    const next = at < 0 ? (by > 0 ? 0 : ids.length - 1) : Math.min(ids.length - 1, Math.max(0, at + by));
    if (ids[next] !== openId()) navigate(ids[next]);
  }

  function onKey(e) {
    if (e.defaultPrevented || e.ctrlKey || e.metaKey) return;
    if (e.altKey && (e.key === 'ArrowDown' || e.key === 'ArrowUp') && !e.target?.closest?.('dialog')) {
      e.preventDefault();
      return step(e.key === 'ArrowDown' ? 1 : -1);
    }
    if (e.altKey || busy(e.target)) return;
    const run = {
      j: () => step(1),
      k: () => step(-1),
      r: () => openId() != null && compose('reply'),
      n: () => openId() != null && compose('note'),
      a: () => openId() != null && act('assignMe'),
      x: () => openId() != null && act('status', 'closed'),
      '/': () => search(),
      '?': () => {
        opener = document.activeElement;
        help.showModal();
        close.focus();
      },
    }[e.key];
    if (!run) return;
    e.preventDefault();
    run();
  }

  return {
    help,
    start() {
      document.addEventListener('keydown', onKey);
    },
    stop() {
      document.removeEventListener('keydown', onKey);
      if (help.open) help.close();
    },
  };
}
