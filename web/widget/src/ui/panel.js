// ui/panel.js — owns the widget's frame: a Shadow DOM host on the page, the launcher with its
// unread badge, the dialog (header with name and online state, banner, message list, typing
// indicator, composer, the rating prompt at the thread's end) and the accessibility around it: an ARIA live region that reads new
// messages, focus into the panel on open and back to the launcher on close, Esc to close. Its
// root (.frame) carries the visitor's language (lang) and direction (dir="rtl" for Arabic).
// The message list is keyed (by client_id or id), so updates touch only what changed and the
// scroll position is kept unless the visitor was already at the bottom.

import { focusableIn, h } from '../../../shared/ui/dom.js';
import { createHost, applyHostSettings } from './host.js';
import { icon } from './icons.js';
import { CSS } from './styles.js';
import { renderMessage } from './message.js';

export function createPanel({ t, composer, tail, prechat, onOpenChange }) {
  const { host, root } = createHost(CSS);

  const badge = h('span', { class: 'badge', hidden: true, 'aria-hidden': 'true' });
  const launcher = h('button', { type: 'button', class: 'launcher', 'aria-expanded': 'false', 'aria-controls': 'pw-panel', 'aria-label': t('openChat') }, icon('chat'), badge);
  const title = h('h2', { id: 'pw-title', text: t('chatTitle') });
  const dot = h('span', { class: 'dot' });
  const statusText = h('span');
  const closeBtn = h('button', { type: 'button', 'aria-label': t('closeChat'), title: t('closeChat') }, icon('close'));
  const banner = h('div', { class: 'banner', role: 'status', hidden: true });
  // `tail` (the rating prompt) stays the list's last item: messages are placed before it.
  const list = h('ol', { class: 'list', 'aria-label': t('messagesLabel'), tabindex: 0 }, tail);
  const typingRow = h('div', { class: 'typing', 'aria-live': 'polite' });
  const live = h('div', { class: 'sr', 'aria-live': 'polite', 'aria-atomic': 'true' });
  const panel = h(
    'section',
    { id: 'pw-panel', class: 'panel', role: 'dialog', 'aria-labelledby': 'pw-title', tabindex: -1, hidden: true },
    h('header', { class: 'head' }, h('div', { class: 'who' }, title, h('div', { class: 'status' }, dot, statusText)), closeBtn),
    banner,
    prechat?.el,
    list,
    typingRow,
    composer.el,
  );
  // The widget's root inside the shadow: its language, and its direction (Arabic: right to left).
  const frame = h('div', { class: 'frame', dir: t.dir || 'ltr', lang: t.locale || 'en' }, panel, launcher, live);
  root.append(frame);

  const nodes = new Map();
  let open = false;
  let nudge = null; // the proactive greeting's bubble beside the launcher, while it shows
  let greetingNode = null;

  // On a phone the panel covers the page: a modal dialog that keeps the focus. On a touch screen
  // opening it does not put the focus in the message box, which would pop the keyboard up unasked.
  const media = (query) => (typeof matchMedia === 'function' ? matchMedia(query) : null);
  const phone = media('(max-width: 480px)');
  const touch = media('(pointer: coarse)');
  const fullScreen = () => !!phone?.matches;

  function setOpen(next, { focus = true } = {}) {
    if (next === open) return;
    open = next;
    panel.hidden = !open;
    if (fullScreen()) panel.setAttribute('aria-modal', 'true');
    else panel.removeAttribute('aria-modal');
    host.toggleAttribute('data-open', open);
    launcher.setAttribute('aria-expanded', String(open));
    launcher.setAttribute('aria-label', t(open ? 'closeChat' : 'openChat'));
    // The launcher shows what it does: a close mark while the chat is open.
    launcher.firstChild.replaceWith(icon(open ? 'close' : 'chat'));
    if (open) {
      scrollToEnd();
      if (focus && touch?.matches) panel.focus();
      else if (focus) (prechat?.visible() ? prechat : composer).focus();
    } else if (focus) launcher.focus();
    if (open) {
      nudge?.remove();
      nudge = null;
    }
    onOpenChange(open);
  }

  launcher.addEventListener('click', () => setOpen(!open));
  closeBtn.addEventListener('click', () => setOpen(false));
  panel.addEventListener('keydown', (e) => {
    if (e.key === 'Tab' && fullScreen()) return keepFocusIn(e);
    if (e.key !== 'Escape') return;
    e.stopPropagation();
    if (!composer.cancelRecording()) setOpen(false);
  });

  /** Tab and Shift+Tab go round the panel's controls instead of into the page behind. */
  function keepFocusIn(e) {
    const focusable = focusableIn(panel);
    if (!focusable.length) return;
    const first = focusable[0];
    const last = focusable[focusable.length - 1];
    const active = root.activeElement;
    if (e.shiftKey && (active === first || active === panel)) {
      e.preventDefault();
      last.focus();
    } else if (!e.shiftKey && active === last) {
      e.preventDefault();
      first.focus();
    }
  }

  const atBottom = () => list.scrollHeight - list.scrollTop - list.clientHeight < 60;
  // Whether the visitor reads the end of the thread: set by their own scrolling, so an image that
  // loads later (and makes the list taller) still brings them down when they were at the bottom.
  // The scroll event of scrollToEnd's own move comes a frame later, when a message or an image
  // may have made the list taller already: that event is not the visitor scrolling up.
  let pinned = true;
  let ownTop = -1;
  list.addEventListener('scroll', () => (pinned = list.scrollTop === ownTop || atBottom()), { passive: true });
  function scrollToEnd() {
    list.scrollTop = list.scrollHeight;
    ownTop = list.scrollTop;
    pinned = true;
  }

  return {
    host,
    root,
    mount() {
      (document.body || document.documentElement).append(host);
    },
    unmount() {
      host.remove();
    },
    setOpen,
    isOpen: () => open,
    /** Shows the pre-chat form in place of the thread and the composer, or takes it away. */
    setPreChat(on) {
      const had = panel.hasAttribute('data-prechat');
      panel.toggleAttribute('data-prechat', on);
      if (open && had && !on) composer.focus();
    },
    stickToBottom(force) {
      if (force || pinned || atBottom()) scrollToEnd();
    },

    applySettings({ name, settings }) {
      if (name) title.textContent = name;
      applyHostSettings(host, settings);
    },

    setGreeting(text, name) {
      if (!text || greetingNode) return;
      greetingNode = renderMessage(null, { id: null, _key: 'greeting', sender_type: 'bot', sender_name: name, message: String(text), timestamp: null }, { t, url: () => null, reactions: {} });
      greetingNode.classList.add('greeting');
      list.prepend(greetingNode);
    },

    /** Brings the list in line with the store's messages (keyed, in order, minimal DOM work). */
    renderMessages(messages, ctx) {
      const stick = pinned || atBottom();
      const seen = new Set();
      let prev = greetingNode;
      for (const m of messages) {
        seen.add(m._key);
        const existing = nodes.get(m._key);
        const node = renderMessage(existing, m, ctx);
        if (!existing) nodes.set(m._key, node);
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
      if (stick) scrollToEnd();
    },

    setStatus(text, online) {
      statusText.textContent = text;
      dot.classList.toggle('on', !!online);
    },
    setBanner(text) {
      banner.textContent = text || '';
      banner.hidden = !text;
    },
    setTyping(label) {
      typingRow.replaceChildren();
      if (label) typingRow.append(h('span', { class: 'dots', 'aria-hidden': 'true' }, h('i'), h('i'), h('i')), h('span', { text: label }));
    },
    setUnread(count) {
      badge.hidden = !count;
      badge.textContent = count > 99 ? '99+' : String(count);
      launcher.setAttribute('aria-label', t(open ? 'closeChat' : 'openChat') + (count ? ' — ' + t('unreadBadge', { count }) : ''));
    },
    /**
     * The proactive greeting: a bubble beside the launcher (text only) that opens the chat when
     * clicked (a button, so Enter works too), with a "×" to dismiss it; read out politely.
     */
    showNudge(text, { onDismiss } = {}) {
      this.hideNudge();
      const body = h('button', { type: 'button', class: 'nudge-text', text: String(text) });
      const x = h('button', { type: 'button', class: 'nudge-x', 'aria-label': t('proactiveClose'), title: t('proactiveClose'), text: '×' });
      nudge = h('div', { class: 'nudge' }, body, x);
      body.addEventListener('click', () => setOpen(true));
      x.addEventListener('click', () => {
        this.hideNudge();
        launcher.focus();
        onDismiss?.();
      });
      frame.insertBefore(nudge, launcher);
      this.announce(String(text));
    },
    hideNudge() {
      nudge?.remove();
      nudge = null;
    },
    /** Reads a new message to screen-reader users (text only, never markup). */
    announce(text) {
      live.textContent = '';
      // A fresh text node after a tick makes screen readers announce repeats too.
      setTimeout(() => {
        live.textContent = text;
      }, 50);
    },
  };
}
