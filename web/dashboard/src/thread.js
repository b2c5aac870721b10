// thread.js — owns one conversation's messages as this browser knows them, by the widget's rule:
// a message is known by its server id, and a reply this agent sent is also known by its
// client_id, so whatever route a message arrives by (HTTP answer, conversation socket, the team
// channel's InboxUpdated, a poll, a gap-fill) it is stored once, replaces its pending copy, and
// the list stays ordered by id with unsent replies last. Also the conversation's read states,
// reactions and its latest conversation object. A pending file reply holds an object URL of
// its image for the preview, revoked once the stored message replaces it or it is removed. Also
// the few threads this page keeps (createThreads).

function createEmitter() {
  const handlers = new Map();
  return {
    on(name, fn) {
      if (!handlers.has(name)) handlers.set(name, new Set());
      handlers.get(name).add(fn);
      return () => handlers.get(name).delete(fn);
    },
    emit(name, ...args) {
      for (const fn of handlers.get(name) || []) fn(...args);
    },
  };
}

export { createEmitter };

const SENDERS = ['visitor', 'bot', 'agent', 'system'];
const MAX_THREADS = 30;

/**
 * The server keeps an agent's client_id as `agent-{agent id}-{ours}` (so two agents never
 * collide); this is the part we chose.
 */
export function localClientId(clientId) {
  return String(clientId).replace(/^agent-\d+-/, '');
}

export function normaliseMessage(raw) {
  const id = Number(raw?.id);
  if (!Number.isSafeInteger(id) || id <= 0) return null;
  return {
    id,
    conversation_id: Number(raw.conversation_id) || null,
    sender_type: SENDERS.includes(raw.sender_type) ? raw.sender_type : 'system',
    sender_name: typeof raw.sender_name === 'string' ? raw.sender_name : null,
    message: typeof raw.message === 'string' ? raw.message : '',
    attachment_path: typeof raw.attachment_path === 'string' ? raw.attachment_path : null,
    attachment_name: typeof raw.attachment_name === 'string' ? raw.attachment_name : null,
    is_voice: raw.is_voice === true || raw.is_voice === 1 || raw.is_voice === '1',
    timestamp: typeof raw.timestamp === 'string' ? raw.timestamp : null,
    client_id: typeof raw.client_id === 'string' && raw.client_id ? raw.client_id : null,
  };
}

/** Whether `next` is an older snapshot of the conversation than `current` (by updated_at). */
export function isOlder(next, current) {
  const a = Date.parse(next?.updated_at || '');
  const b = Date.parse(current?.updated_at || '');
  return Number.isFinite(a) && Number.isFinite(b) && a < b;
}

export function createThread(conversationId) {
  const events = createEmitter();
  const byId = new Map();
  const byClient = new Map();
  const state = {
    id: conversationId,
    conversation: null,
    messages: [],
    readStates: {}, // reader ('visitor', 'agent', …) -> last_read_id
    reactions: {}, // message_id -> [{emoji, count, reactors}]
    loaded: false, // the first fetch has answered
    // Every message up to `cursor` is held: where the next gap-fill starts. Only HTTP fills move
    // it: a message seen by another route (an event, the team channel, a send's answer) may have
    // jumped a gap, since with several nodes a socket can miss one event and get the next.
    cursor: 0,
  };
  let seq = 0;
  let scheduled = false;

  function order(a, b) {
    if (a.id != null && b.id != null) return a.id - b.id;
    if (a.id != null) return -1;
    if (b.id != null) return 1;
    return a._seq - b._seq;
  }

  function release(m) {
    if (m._preview) URL.revokeObjectURL(m._preview);
    m._preview = null;
  }

  function changed() {
    state.messages = [...new Set([...byId.values(), ...byClient.values()])].sort(order);
    if (scheduled) return;
    scheduled = true;
    queueMicrotask(() => {
      scheduled = false;
      events.emit('change', state);
    });
  }

  return {
    state,
    on: events.on,

    /** Stores server messages; returns those new to this browser (not our own pending ones). */
    merge(list) {
      const fresh = [];
      for (const raw of Array.isArray(list) ? list : []) {
        if (raw?.conversation_id != null && Number(raw.conversation_id) !== conversationId) continue;
        const m = normaliseMessage(raw);
        if (!m || byId.has(m.id)) continue;
        const pending = m.client_id && (byClient.get(m.client_id) || byClient.get(localClientId(m.client_id)));
        if (pending && pending.id == null) {
          // Keep the object (and so its DOM node, and our client_id): it is sent.
          release(pending);
          Object.assign(pending, m, { client_id: pending.client_id, _pending: false, _status: 'sent', _error: null, _progress: null });
          byId.set(m.id, pending);
          events.emit('confirmed', pending);
          continue;
        }
        m._key = m.client_id ? 'c:' + m.client_id : 'i:' + m.id;
        m._seq = seq++;
        byId.set(m.id, m);
        if (m.client_id) byClient.set(m.client_id, m);
        fresh.push(m);
      }
      if (fresh.length || list?.length) changed();
      return fresh;
    },

    /** Shows a reply (with `file`, a File, for a file reply) at once, before the server has it. */
    addPending({ client_id, message, sender_name, file }) {
      const m = {
        id: null,
        conversation_id: conversationId,
        sender_type: 'agent',
        sender_name,
        message,
        attachment_path: null,
        attachment_name: file ? file.name || 'file' : null,
        is_voice: false,
        timestamp: new Date().toISOString(),
        client_id,
        _upload: !!file,
        _preview: file && /^image\//.test(file.type) ? URL.createObjectURL(file) : null,
        _progress: file ? 0 : null,
        _key: 'c:' + client_id,
        _seq: seq++,
        _pending: true,
        _status: 'sending',
        _error: null,
      };
      byClient.set(client_id, m);
      changed();
      return m;
    },

    patchPending(clientId, patch) {
      const m = byClient.get(clientId);
      if (m && m.id == null) {
        Object.assign(m, patch);
        changed();
      }
    },

    removePending(clientId) {
      const m = byClient.get(clientId);
      if (m && m.id == null) {
        release(m);
        byClient.delete(clientId);
        changed();
      }
    },

    hasPending: () => [...byClient.values()].some((m) => m.id == null),

    /** Everything up to `id` is held. */
    advance(id) {
      if (Number(id) > state.cursor) state.cursor = Number(id);
    },

    /** The highest stored id (what "read up to" means). */
    highestId() {
      let max = 0;
      for (const id of byId.keys()) if (id > max) max = id;
      return max;
    },

    applyReadState(rs) {
      if (!rs || typeof rs.reader !== 'string') return;
      const id = Number(rs.last_read_id) || 0;
      if (id > (state.readStates[rs.reader] || 0)) {
        state.readStates[rs.reader] = id;
        changed();
      }
    },

    setReactions(messageId, reactions) {
      state.reactions[messageId] = Array.isArray(reactions) ? reactions.filter((r) => r && typeof r.emoji === 'string' && r.count > 0) : [];
      changed();
    },

    setConversation(conversation) {
      if (!conversation || typeof conversation !== 'object') return;
      if (conversation.id != null && Number(conversation.id) !== conversationId) return;
      if (isOlder(conversation, state.conversation)) return; // an answer that left before an event
      // A conversation is rated once: a read that left before the rating came keeps it.
      const rated = conversation.rating == null && state.conversation?.rating ? { rating: state.conversation.rating } : {};
      state.conversation = Object.assign({}, state.conversation, conversation, rated);
      changed();
    },

    setLoaded() {
      if (state.loaded) return;
      state.loaded = true;
      changed();
    },

    touch: changed,
  };
}

/**
 * The conversations this page holds: each one's thread, created on first use. A few stay warm
 * (MAX_THREADS); the open one, and one with replies still going out, are never dropped.
 * @param {object} o
 * @param {() => object|null} o.open the open conversation's thread
 * @param {(id: number) => boolean} o.sending whether the outbox still holds replies to `id`
 * @param {() => void} o.onChange the open thread changed
 * @param {(m: object) => void} o.onConfirmed a pending reply came back stored
 */
export function createThreads({ open, sending, onChange, onConfirmed }) {
  const threads = new Map();
  return {
    /** The thread of conversation `id`, created if this page has none. */
    thread(id) {
      let t = threads.get(id);
      if (!t) {
        t = createThread(id);
        t.on('change', () => t === open() && onChange());
        t.on('confirmed', onConfirmed);
        threads.set(id, t);
        // Keep a few conversations warm; never drop one with replies still going out.
        for (const [key, other] of threads) {
          if (threads.size <= MAX_THREADS) break;
          if (other !== open() && !sending(key) && !other.hasPending()) threads.delete(key);
        }
      }
      return t;
    },
    /** The thread of conversation `id` if this page holds one. */
    get: (id) => threads.get(id),
    /** Drops conversation `id`'s thread (it was erased). */
    forget: (id) => threads.delete(id),
  };
}
