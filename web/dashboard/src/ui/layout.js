// ui/layout.js — owns the signed-in page's layout: the header, the offline banner, the three
// columns (inbox, conversation, a side bar with details, team and saved replies), the sessions
// dialog (password sign-in only), the toasts, a skip link, and the live region that reads
// announcements to screen readers. Each view gets its
// handlers from the workspace; `announce`, `toast` and `setBanner` are how the rest speaks.

import { h } from '../../../shared/ui/dom.js';
import { createDetails } from './details.js';
import { createHeader } from './header.js';
import { createInboxView } from './inbox.js';
import { createSavedRepliesView } from './saved-replies.js';
import { createSessionsView } from './sessions.js';
import { createTeam } from './team.js';
import { createThreadView } from './thread.js';

/**
 * @param {object} o each view's handlers: `header` (createHeader), `inbox` (createInboxView),
 *   `thread` (createThreadView), `savedReplies` (createSavedRepliesView), `sessions`
 *   (createSessionsView; null: no sessions dialog)
 */
export function createLayout({ header: headerHandlers, inbox, thread, savedReplies, sessions = null }) {
  const header = createHeader(headerHandlers);
  const banner = h('div', { class: 'banner', role: 'status', hidden: true });
  const inboxView = createInboxView(inbox);
  // Where the side column does not fit (tablets, phones), "Details" opens it over the page.
  const detailsToggle = h('button', { type: 'button', class: 'ghost details-toggle', 'aria-controls': 'pd-side', 'aria-expanded': 'false', text: 'Details', onclick: () => setSide(true) });
  const threadView = createThreadView({ ...thread, extraActions: [detailsToggle] });
  const details = createDetails();
  const savedView = createSavedRepliesView(savedReplies);
  const teamView = createTeam();
  const sessionsView = sessions ? createSessionsView(sessions) : null;
  const toasts = h('div', { class: 'toasts', role: 'status', 'aria-live': 'polite' });
  const live = h('div', { class: 'sr', 'aria-live': 'polite', 'aria-atomic': 'true', id: 'pd-live' });
  const skip = h('a', { class: 'skip', href: '#pd-reply', text: 'Skip to the reply box' });
  const sideClose = h('button', { type: 'button', class: 'ghost side-close', text: 'Close details', onclick: () => setSide(false) });
  const side = h('aside', { id: 'pd-side', class: 'side', 'aria-label': 'Details', tabindex: -1 }, sideClose, details.el, teamView.el, savedView.el);
  const cols = h('main', { class: 'cols' }, inboxView.el, threadView.el, side);
  let sideOpen = false;
  function setSide(open) {
    if (open === sideOpen) return;
    sideOpen = open;
    cols.classList.toggle('side-open', open);
    detailsToggle.setAttribute('aria-expanded', String(open));
    (open ? side : detailsToggle).focus();
  }
  side.addEventListener('keydown', (e) => {
    if (e.key !== 'Escape' || !sideOpen) return;
    e.stopPropagation();
    setSide(false);
  });
  const shell = h(
    'div',
    { class: 'app' },
    skip,
    header.el,
    banner,
    cols,
    sessionsView?.el,
    toasts,
    live,
  );

  return {
    shell,
    header,
    inboxView,
    threadView,
    details,
    savedView,
    teamView,
    sessionsView,

    /** Reads `text` to screen readers. */
    announce(text) {
      live.textContent = '';
      // A fresh text node after a tick makes screen readers announce repeats too.
      setTimeout(() => {
        live.textContent = text;
      }, 50);
    },

    /** A notice for a few seconds (at most four at once), with an optional action button. */
    toast(text, { error = false, action = null, ms = 6000 } = {}) {
      const node = h('div', { class: 'toast' + (error ? ' error' : '') }, h('span', { text }));
      if (action) node.append(h('button', { type: 'button', class: 'link', text: action.label, onclick: () => (node.remove(), action.run()) }));
      node.append(h('button', { type: 'button', class: 'link dismiss', 'aria-label': 'Dismiss', text: '×', onclick: () => node.remove() }));
      toasts.append(node);
      while (toasts.children.length > 4) toasts.firstChild.remove();
      setTimeout(() => node.remove(), ms);
    },

    /** The banner over the columns (null hides it). */
    setBanner(text) {
      banner.textContent = text || '';
      banner.hidden = !text;
    },
  };
}
