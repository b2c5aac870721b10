// notify.js — owns getting the agent's attention: the title's count of conversations wanting
// them, and, for each kind of news (a new conversation, a visitor's message in a conversation
// assigned to them, a mention in a note, a handoff to a human), a chime, a flashing title while
// the tab is hidden, and while it is hidden or not focused a desktop notification (the Notification API, asked
// for only when the agent clicks "Allow" in the Notifications dialog; clicking one opens the
// conversation). Nothing at all for news about the conversation the agent is looking at. What
// each kind does is the agent's choice, kept in this browser per agent.

import { createAttention } from '../../shared/notify.js';

const BASE_TITLE = 'Parley inbox';
const FLASH_MS = 1000;

/** The kinds of news, in the order the settings list them. */
export const KINDS = [
  ['new', 'A new conversation'],
  ['assigned', 'A message in a conversation assigned to me'],
  ['mention', 'A mention of me in a note'],
  ['handoff', 'A conversation handed to a human'],
];

const DEFAULTS = { sound: true, desktop: true, new: true, assigned: true, mention: true, handoff: true };

/** Whether this browser can show desktop notifications, and what the agent allowed. */
export function desktopPermission() {
  return typeof Notification === 'undefined' ? 'unsupported' : Notification.permission;
}

/**
 * @param {object} o
 * @param {boolean} [o.sound] false: never chime (ChatbotDashboard option)
 * @param {() => number|null} o.agentId whose settings
 * @param {(id: number) => boolean} o.lookingAt whether the agent is looking at conversation `id`
 * @param {(id: number) => void} o.onOpen a desktop notification was clicked
 */
export function createNotifier({ sound = true, agentId = () => null, lookingAt = () => false, onOpen = () => {} } = {}) {
  let count = 0;
  let flashText = null;
  let flashTimer = null;
  let flashOn = false;
  const shown = new Map(); // tag -> Notification, closed when the tab comes back

  const key = () => 'parley:dashboard:notifications:' + (agentId() ?? 'anonymous');
  function settings() {
    try {
      return Object.assign({}, DEFAULTS, JSON.parse(localStorage.getItem(key()) || '{}'));
    } catch {
      return Object.assign({}, DEFAULTS);
    }
  }

  function title() {
    const base = (count ? '(' + count + ') ' : '') + BASE_TITLE;
    document.title = flashText && flashOn ? flashText : base;
  }

  function stopFlash() {
    clearInterval(flashTimer);
    flashTimer = null;
    flashText = null;
    flashOn = false;
    title();
    for (const n of shown.values()) n.close?.();
    shown.clear();
  }

  function flash(text) {
    flashText = '● ' + text;
    flashOn = true;
    title();
    clearInterval(flashTimer);
    flashTimer = setInterval(() => {
      flashOn = !flashOn;
      title();
    }, FLASH_MS);
  }

  function desktop(text, conversationId) {
    if (desktopPermission() !== 'granted') return;
    try {
      const tag = 'parley-' + (conversationId ?? 'team');
      const n = new Notification(BASE_TITLE, { body: text, tag });
      n.onclick = () => {
        window.focus();
        n.close();
        if (conversationId != null) onOpen(conversationId);
      };
      shown.set(tag, n);
    } catch {
      /* some browsers only allow notifications from a service worker: the title still flashes */
    }
  }

  const listening = new AbortController();
  const chime = createAttention({ sound, tone: [660, 990, 0.12, 0.2, 0.4], onVisible: stopFlash, signal: listening.signal });

  return {
    /** How many conversations want the agent (shown in the title). */
    setCount(n) {
      count = Math.max(0, n | 0);
      title();
    },
    /**
     * News of `kind` about conversation `conversationId` (or none): nothing if the agent turned
     * that kind off or is looking at that conversation; else a chime, a flashing title while the
     * tab is hidden, and a desktop notification while it is hidden or not focused. Returns
     * whether it got attention.
     */
    notify(kind, text, conversationId = null) {
      const s = settings();
      if (s[kind] === false) return false;
      if (conversationId != null && lookingAt(conversationId)) return false;
      if (s.sound) chime();
      if (document.hidden) flash(text);
      if (s.desktop && (document.hidden || !document.hasFocus())) desktop(text, conversationId);
      return true;
    },
    settings,
    /** Saves a change of the agent's settings. */
    save(change) {
      const next = Object.assign(settings(), change);
      try {
        localStorage.setItem(key(), JSON.stringify(next));
      } catch {
        /* private mode: the change lasts this page */
      }
      return next;
    },
    /** Asks the browser (only ever from the agent's click); resolves to the permission. */
    async allowDesktop() {
      if (desktopPermission() === 'unsupported') return 'unsupported';
      try {
        return await Notification.requestPermission();
      } catch {
        return desktopPermission();
      }
    },
    get flashing() {
      return !!flashText;
    },
    stopFlash,
    /** Signed out: no more title changes, no more listeners. */
    stop() {
      stopFlash();
      listening.abort();
    },
  };
}
