// storage.js — owns what the dashboard keeps in localStorage (with a memory fallback when storage
// is blocked): the agent token (when signed in with one), the marker of a password session (its id
// only: the session itself is an HttpOnly cookie; the marker is how the other tabs hear of a
// sign-in or a sign-out), the availability the agent last chose, the inbox tab, and how far this
// browser has seen each conversation (for unread dots). Keys start with `parley-dashboard:`.

const PREFIX = 'parley-dashboard:';
const SEEN_MAX = 500;

function backend() {
  try {
    const probe = PREFIX + 'probe';
    localStorage.setItem(probe, '1');
    localStorage.removeItem(probe);
    return localStorage;
  } catch {
    const memory = new Map();
    return {
      getItem: (k) => (memory.has(k) ? memory.get(k) : null),
      setItem: (k, v) => memory.set(k, String(v)),
      removeItem: (k) => memory.delete(k),
    };
  }
}

export function createStorage() {
  const store = backend();
  const get = (key, fallback = null) => {
    try {
      const raw = store.getItem(PREFIX + key);
      return raw == null ? fallback : JSON.parse(raw);
    } catch {
      return fallback;
    }
  };
  const set = (key, value) => {
    try {
      if (value == null) store.removeItem(PREFIX + key);
      else store.setItem(PREFIX + key, JSON.stringify(value));
    } catch {
      /* full or blocked: this is a convenience, not state the server lacks */
    }
  };
  let seen = get('seen', {}) || {};

  return {
    token: () => get('token'),
    setToken: (token) => set('token', token),
    /** `{id}` of the password session this browser is signed in with, or null. */
    session: () => get('session'),
    setSession: (marker) => set('session', marker),
    availability: () => get('availability'),
    setAvailability: (a) => set('availability', a),
    tab: () => get('tab'),
    setTab: (tab) => set('tab', tab),
    /** The highest message id this browser has shown for conversation `id`. */
    seen: (id) => Number(seen[id]) || 0,
    setSeen(id, messageId) {
      if (!(messageId > (Number(seen[id]) || 0))) return;
      seen[id] = messageId;
      const keys = Object.keys(seen);
      if (keys.length > SEEN_MAX) {
        // Forget the oldest conversations (lowest ids) first.
        keys.sort((a, b) => Number(a) - Number(b));
        for (const k of keys.slice(0, keys.length - SEEN_MAX)) delete seen[k];
      }
      set('seen', seen);
    },
    /** Everything about the agent goes on sign-out. */
    clear() {
      for (const key of ['token', 'session', 'availability', 'seen', 'tab']) set(key, null);
      seen = {};
    },
  };
}
