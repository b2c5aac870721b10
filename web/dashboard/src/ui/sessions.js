// ui/sessions.js — owns the "Sessions" dialog (opened from the header when signed in with a
// password): where this person is signed in (the browser, when it signed in, when it was last
// active and from which address; this browser marked), each other one with "Sign out"; and the
// person's API token for scripts, made anew (shown once, with Copy) or revoked. A native modal
// <dialog>: focus moves into it, Escape closes it, and focus goes back to the header's button.

import { h, formatTime, relativeTime } from '../../../shared/ui/dom.js';
import { copyBox } from '../admin/kit.js';
import { ensureAdminStyles } from '../admin/style.js';
import { browserSummary } from './details.js';

export function createSessionsView({ onEnd, onRefresh, onNewToken, onRevokeToken }) {
  ensureAdminStyles();
  const status = h('p', { class: 'muted', role: 'status' });
  const error = h('p', { class: 'error', role: 'alert' });
  const list = h('ul', { class: 'sessions-list', 'aria-labelledby': 'pd-sessions-title' });
  const close = h('button', { type: 'button', class: 'ghost', text: 'Close' });
  const refresh = h('button', { type: 'button', class: 'ghost', text: 'Refresh', onclick: () => onRefresh() });
  const tokenOut = h('div', { class: 'api-token' });
  const tokenStatus = h('p', { class: 'muted', role: 'status' });
  const newToken = h('button', { type: 'button', class: 'ghost', text: 'Make a new API token' });
  const revokeToken = h('button', { type: 'button', class: 'ghost danger', text: 'Revoke API token' });
  newToken.addEventListener('click', () => onNewToken?.());
  revokeToken.addEventListener('click', () => {
    if (confirm('Revoke your API token? Scripts using it stop working at once.')) onRevokeToken?.();
  });
  const el = h(
    'dialog',
    { class: 'sessions-dialog', 'aria-labelledby': 'pd-sessions-title' },
    h('h2', { id: 'pd-sessions-title', text: 'Your sessions' }),
    h('p', { class: 'muted', text: 'Where you are signed in. Signing one out ends it there at once.' }),
    status,
    list,
    error,
    h('h3', { id: 'pd-api-token-title', text: 'API token' }),
    h('p', { class: 'muted', text: 'For scripts: send it as "Authorization: Bearer …". A new token replaces the old one, which stops working.' }),
    tokenOut,
    tokenStatus,
    h('div', { class: 'dialog-actions', role: 'group', 'aria-labelledby': 'pd-api-token-title' }, newToken, revokeToken),
    h('div', { class: 'dialog-actions' }, refresh, close),
  );
  let opener = null;
  close.addEventListener('click', () => el.close());
  el.addEventListener('close', () => opener?.focus());

  function item(s) {
    const what = browserSummary(s.user_agent) || 'An unknown browser';
    const since = formatTime(s.created_at).long;
    const seen = relativeTime(s.last_seen_at);
    const facts = ['Signed in ' + since, seen ? 'last active ' + (seen === 'now' ? 'just now' : seen + ' ago') : '', s.ip ? 'from ' + s.ip : ''].filter(Boolean).join(' · ');
    const body = h('div', { class: 'session-body' }, h('b', { text: what }), s.current ? h('span', { class: 'tag current', text: 'This browser' }) : null, h('span', { class: 'session-facts', text: facts }));
    const button = s.current
      ? null
      : h('button', { type: 'button', class: 'ghost', 'aria-label': 'Sign out ' + what + ', signed in ' + since, text: 'Sign out' });
    if (button) {
      button.addEventListener('click', async () => {
        button.disabled = true;
        button.textContent = 'Signing out…';
        await onEnd(s);
      });
    }
    return h('li', { class: 'session' + (s.current ? ' current' : ''), 'data-session-id': s.id, title: s.user_agent || '' }, body, button);
  }

  return {
    el,
    /** Opens the dialog (modal); `from` gets the focus back when it closes. */
    open(from) {
      opener = from || document.activeElement;
      if (!el.open) el.showModal();
    },
    get isOpen() {
      return el.open;
    },
    loading() {
      status.textContent = list.children.length ? '' : 'Loading…';
    },
    /** The sessions, newest first, as GET /api/auth/sessions gives them. */
    render(sessions) {
      error.textContent = '';
      status.textContent = sessions.length > 1 ? sessions.length + ' sessions' : 'Only this browser is signed in.';
      list.replaceChildren(...sessions.map(item));
    },
    setError(text) {
      error.textContent = text || '';
    },
    /** A new API token, shown only now. */
    showToken(token) {
      tokenStatus.textContent = 'Copy your new token now: it is shown only this once.';
      tokenOut.replaceChildren(copyBox('Your API token', token));
    },
    tokenRevoked() {
      tokenOut.replaceChildren();
      tokenStatus.textContent = 'Your API token is revoked.';
    },
    tokenError(text) {
      tokenStatus.textContent = text;
    },
  };
}
