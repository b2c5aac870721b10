// store.js — owns the widget's state and the one rule that keeps it right: a message is known by
// its server id, and a message this browser sent is also known by its client_id, so whatever
// route a message arrives by (HTTP answer, socket, poll, gap-fill, another tab) it is stored once,
// replaces its pending copy, and the list stays ordered by id with unsent messages last.
// `state` is the live object exposed as ChatbotWidget.state (the seed's debugging shape).

import { createEmitter } from './emitter.js';

export function createStore() {
  const events = createEmitter();
  const state = {
    conversationId: null,
    conversation: null,
    messages: [],
    realtimeConnected: false,
    realtimeProvider: null,
    agentsOnline: null, // whether any agent is online (null: not told)
    availability: null, // the widget's mode by its business hours: {mode, next_open_at, closes_at, asks_email}
    channelSubscription: null,
    unread: 0,
    reactions: {}, // message_id -> [{emoji, count, reactors}]
    readStates: {}, // reader ('visitor', 'agent', …) -> last_read_id
    rating: undefined, // the visitor's rating of the conversation: {score, comment, created_at}, null (none) or undefined (not known yet)
  };
  const byId = new Map();
  const byClient = new Map();
  let seq = 0;
  let scheduled = false;
  let conversationEvents = 0; // status events heard, so a slower read does not undo a newer one
  let availabilityEvents = 0; // the same for "agents online" events

  /** Whether any agent is online, from the config, a poll or (`live`) an `AgentAvailability` event. */
  function setAgentsOnline(online, { live = false } = {}) {
    if (live) availabilityEvents++;
    if (typeof online !== 'boolean' || state.agentsOnline === online) return;
    state.agentsOnline = online;
    changed();
  }

  function changed() {
    // The list is current at once (callers count unread right after a merge); the UI hears
    // about it once per burst (a gap-fill can bring 100 messages at once).
    state.messages = [...new Set([...byId.values(), ...byClient.values()])].sort(order);
    if (scheduled) return;
    scheduled = true;
    queueMicrotask(() => {
      scheduled = false;
      events.emit('change', state);
    });
  }

  function order(a, b) {
    if (a.id != null && b.id != null) return a.id - b.id;
    if (a.id != null) return -1; // confirmed before pending
    if (b.id != null) return 1;
    return a._seq - b._seq;
  }

  function normalise(raw) {
    const id = Number(raw.id);
    if (!Number.isSafeInteger(id) || id <= 0) return null;
    return {
      id,
      conversation_id: raw.conversation_id,
      sender_type: ['visitor', 'bot', 'agent', 'system'].includes(raw.sender_type) ? raw.sender_type : 'system',
      sender_name: typeof raw.sender_name === 'string' ? raw.sender_name : null,
      message: typeof raw.message === 'string' ? raw.message : '',
      attachment_path: typeof raw.attachment_path === 'string' ? raw.attachment_path : null,
      attachment_name: typeof raw.attachment_name === 'string' ? raw.attachment_name : null,
      is_voice: raw.is_voice === true || raw.is_voice === 1 || raw.is_voice === '1',
      timestamp: raw.timestamp || null,
      client_id: typeof raw.client_id === 'string' && raw.client_id ? raw.client_id : null,
      // A bot's unsure answer: the widget offers a person under it.
      offers_human: raw.offers_human === true,
    };
  }

  return {
    state,
    on: events.on,

    /** Stores server messages. Returns those that are new to this tab (not our own pending ones). */
    merge(list) {
      const fresh = [];
      for (const raw of Array.isArray(list) ? list : []) {
        if (state.conversationId != null && raw?.conversation_id != null && Number(raw.conversation_id) !== state.conversationId) continue;
        const m = raw && normalise(raw);
        if (!m || byId.has(m.id)) continue;
        const pending = m.client_id && byClient.get(m.client_id);
        if (pending) {
          // Keep the object (and so its DOM node and key); drop local previews.
          if (pending._localUrl) URL.revokeObjectURL(pending._localUrl);
          Object.assign(pending, m, { _pending: false, _status: 'sent', _progress: null, _error: null, _localUrl: null });
          byId.set(m.id, pending);
          events.emit('confirmed', pending); // whoever got it stored (maybe another tab), it is sent
          continue;
        }
        m._key = m.client_id ? 'c:' + m.client_id : 'i:' + m.id;
        m._seq = seq++;
        byId.set(m.id, m);
        if (m.client_id) byClient.set(m.client_id, m);
        fresh.push(m);
      }
      changed();
      return fresh;
    },

    /** Shows a message at once, before the server has it. */
    addPending({ client_id, message, attachment_name = null, is_voice = false, localUrl = null, localType = null }) {
      const m = {
        id: null,
        conversation_id: state.conversationId,
        sender_type: 'visitor',
        sender_name: null,
        message: message || '',
        attachment_path: null,
        attachment_name,
        is_voice,
        timestamp: new Date().toISOString(),
        client_id,
        _key: 'c:' + client_id,
        _seq: seq++,
        _pending: true,
        _status: 'sending',
        _progress: null,
        _error: null,
        _localUrl: localUrl,
        _localType: localType,
      };
      byClient.set(client_id, m);
      changed();
      return m;
    },

    patchPending(clientId, patch) {
      const m = byClient.get(clientId);
      if (m && m._pending) {
        Object.assign(m, patch);
        changed();
      }
    },

    removePending(clientId) {
      const m = byClient.get(clientId);
      if (m && m._pending) {
        if (m._localUrl) URL.revokeObjectURL(m._localUrl);
        byClient.delete(clientId);
        changed();
      }
    },

    isPending: (clientId) => !!byClient.get(clientId)?._pending,

    /** The highest stored id: where the next gap-fill starts. */
    highestId() {
      let max = 0;
      for (const id of byId.keys()) if (id > max) max = id;
      return max;
    },

    setReactions(messageId, reactions) {
      state.reactions[messageId] = Array.isArray(reactions) ? reactions.filter((r) => r && typeof r.emoji === 'string') : [];
      changed();
    },

    applyReadState(rs) {
      if (!rs || typeof rs.reader !== 'string') return;
      const id = Number(rs.last_read_id) || 0;
      if (id > (state.readStates[rs.reader] || 0)) {
        state.readStates[rs.reader] = id;
        changed();
      }
    },

    setAgentsOnline,

    /**
     * Call before reading whether agents are online (the config, a conversation page): gives
     * the function to call with the answer, which keeps an `AgentAvailability` event heard
     * meanwhile instead (newer than the read) and says whether the answer was taken.
     */
    readingAgentsOnline() {
      const heard = availabilityEvents;
      return (online) => availabilityEvents === heard && (setAgentsOnline(online), true);
    },

    /** The widget's availability, from the config or a conversation page. */
    setAvailability(availability) {
      if (!availability || typeof availability !== 'object' || typeof availability.mode !== 'string') return;
      const same = JSON.stringify(availability) === JSON.stringify(state.availability);
      state.availability = availability;
      if (same) return;
      events.emit('availability', availability);
      changed();
    },

    /** The conversation's status and the like: `live` when a socket event said it. */
    setConversation(conversation, { live = false } = {}) {
      if (live) conversationEvents++;
      if (conversation && typeof conversation === 'object') {
        state.conversation = Object.assign({}, state.conversation, conversation);
        changed();
      }
    },

    /** How many conversation events arrived so far. */
    conversationEvents: () => conversationEvents,

    /** The conversation's rating, from a fetch (`rating`: object or null) or a `ConversationRated` event. */
    setRating(r) {
      if (r === undefined || (r?.conversation_id != null && Number(r.conversation_id) !== state.conversationId)) return;
      // A conversation is rated once: a read that left before the rating came keeps it.
      if (r === null && state.rating) return;
      state.rating = r && typeof r === 'object' ? { score: Number(r.score), comment: r.comment ?? null, created_at: r.created_at ?? null } : null;
      changed();
    },

    /** Forgets everything about the current conversation but keeps unsent messages. */
    reset(conversationId) {
      state.conversationId = conversationId;
      state.conversation = null;
      state.reactions = {};
      state.readStates = {};
      state.rating = undefined;
      for (const [id, m] of byId) {
        byId.delete(id);
        if (m.client_id) byClient.delete(m.client_id);
      }
      changed();
    },

    touch: changed,
  };
}
