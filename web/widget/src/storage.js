// storage.js — owns what the widget keeps in the visitor's browser: the conversation id and its
// visitor token (so a reload resumes the chat), the visitor's name/email from setUser(), and the
// unsent messages (so a reload or a crash loses nothing). Everything is namespaced per widget
// token and server, so two widgets on one site never share a conversation. localStorage can throw
// (private mode, blocked storage, full quota): then we fall back to memory for this page only.

const memory = new Map();

function hash(text) {
  // FNV-1a: short, stable keys; the token is public anyway, this only keeps keys tidy.
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(36);
}

function read(key) {
  try {
    const raw = window.localStorage.getItem(key);
    return raw == null ? memory.get(key) ?? null : JSON.parse(raw);
  } catch {
    return memory.get(key) ?? null;
  }
}

function write(key, value) {
  memory.set(key, value);
  try {
    if (value == null) window.localStorage.removeItem(key);
    else window.localStorage.setItem(key, JSON.stringify(value));
  } catch {
    /* memory copy above is all we can do */
  }
}

export function createStorage(apiToken, widgetUrl) {
  const prefix = 'parley:' + hash(widgetUrl + '|' + apiToken) + ':';
  const keys = { session: prefix + 'session', user: prefix + 'user', outbox: prefix + 'outbox', proactive: prefix + 'proactive' };
  return {
    keys,
    /** {conversationId, visitorToken, userKey?} or null; a signed-in user's may have no visitor token. */
    session() {
      const s = read(keys.session);
      const token = s && (typeof s.visitorToken === 'string' || (s.visitorToken === null && typeof s.userKey === 'string'));
      return token && Number.isInteger(s.conversationId) ? s : null;
    },
    setSession(session) {
      write(keys.session, session);
    },
    user() {
      return read(keys.user) || {};
    },
    setUser(user) {
      write(keys.user, user);
    },
    /** When the proactive greeting was last shown or dismissed (ms since the epoch), or 0. */
    proactive() {
      const at = read(keys.proactive);
      return typeof at === 'number' ? at : 0;
    },
    setProactive(at) {
      write(keys.proactive, at);
    },
    /** Unsent text messages: [{client_id, message, conversationId, created}]. */
    outbox() {
      const list = read(keys.outbox);
      return Array.isArray(list) ? list : [];
    },
    putOutbox(item) {
      // Read-modify-write keeps other tabs' entries; the client_id makes a double send harmless.
      const list = this.outbox().filter((i) => i.client_id !== item.client_id);
      list.push(item);
      write(keys.outbox, list);
    },
    dropOutbox(clientId) {
      const list = this.outbox();
      const next = list.filter((i) => i.client_id !== clientId);
      if (next.length !== list.length) write(keys.outbox, next.length ? next : null);
    },
    /** Parses a `storage` event for our session key (another tab started or reset the chat). */
    sessionFromEvent(event) {
      if (event.key !== keys.session) return undefined;
      try {
        return event.newValue ? JSON.parse(event.newValue) : null;
      } catch {
        return undefined;
      }
    },
  };
}
