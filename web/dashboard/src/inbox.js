// inbox.js — owns the inbox as this browser knows it: one cache of conversations (by id) fed by
// the four listings (GET /api/agent/conversations with each tab's filter), by `InboxUpdated`
// events and by the open conversation; each tab is a filter over that cache, most recently
// updated first. A listing is authoritative for its tab: a cached conversation it no longer holds
// (and no event touched since the request left) has moved elsewhere and is dropped until another
// listing or event brings it back. Unread = the last message is the visitor's and is newer than
// what this browser (or any agent, per the `agent` read state) has seen. A row previews the
// newest message that is not a system line (`preview_message`, kept current by live messages).
// A search (`?q=`) is one more listing: its results, in the server's order, over the same
// cache, with the message each matched in (`matched_message`). An erased conversation
// (`ConversationErased`) is dropped and never taken back.

import { createEmitter, isOlder, normaliseMessage } from './thread.js';
import { STATUS_WORDS } from '../../shared/ui/status.js';

export const PAGE = 50;

export const TABS = [
  { id: 'waiting', label: STATUS_WORDS.waiting, params: { status: 'human', assigned: 'none' }, match: (c) => c.status === 'human' && c.assigned_agent_id == null },
  { id: 'mine', label: 'Mine', params: { status: 'human', assigned: 'me' }, match: (c, me) => c.status === 'human' && c.assigned_agent_id != null && c.assigned_agent_id === me },
  { id: 'bot', label: STATUS_WORDS.bot, params: { status: 'bot' }, match: (c) => c.status === 'bot' },
  { id: 'closed', label: STATUS_WORDS.closed, params: { status: 'closed' }, match: (c) => c.status === 'closed' },
];

const text = (v) => (typeof v === 'string' && v ? v : null);
const idOrNull = (v) => (v == null || v === '' ? null : Number.isSafeInteger(Number(v)) ? Number(v) : null);
const time = (c) => Date.parse(c.last_message?.timestamp || '') || Date.parse(c.updated_at || '') || 0;

/** The pre-chat form's answers: an object of text, numbers and ticks (anything else dropped). */
function attributesOf(raw) {
  const out = {};
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return out;
  for (const [k, v] of Object.entries(raw)) if (['string', 'number', 'boolean'].includes(typeof v)) out[k] = v;
  return out;
}

export function normaliseConversation(raw) {
  const id = Number(raw?.id);
  if (!Number.isSafeInteger(id) || id <= 0) return null;
  const c = { id };
  // Only the fields present: an event may carry a partial conversation.
  if ('status' in raw) c.status = ['bot', 'human', 'closed'].includes(raw.status) ? raw.status : 'bot';
  if ('assigned_agent_id' in raw) c.assigned_agent_id = idOrNull(raw.assigned_agent_id);
  if ('widget_id' in raw) c.widget_id = idOrNull(raw.widget_id);
  for (const k of ['visitor_name', 'visitor_email', 'page_url', 'user_agent', 'created_at', 'updated_at', 'user_id', 'consent_at', 'locale']) if (k in raw) c[k] = text(raw[k]);
  // Whether the site signed the name and email (else the visitor typed them: claimed, not proven).
  for (const k of ['name_verified', 'email_verified']) if (k in raw) c[k] = raw[k] === true;
  if ('attributes' in raw) c.attributes = attributesOf(raw.attributes);
  if (Array.isArray(raw.labels)) c.labels = raw.labels.map(Number).filter(Number.isSafeInteger);
  if ('last_message' in raw) c.last_message = raw.last_message ? normaliseMessage(raw.last_message) : null;
  // What the row previews: the newest message that is not a system line (listings say).
  if ('preview_message' in raw) c.preview_message = raw.preview_message ? normaliseMessage(raw.preview_message) : null;
  return c;
}

/** The newer of two messages (either may be missing). */
const newer = (a, b) => (!a ? b || null : !b ? a : b.id > a.id ? b : a);

export function createInbox({ api, storage, me }) {
  const events = createEmitter();
  const cache = new Map();
  const hasMore = {};
  const loading = {};
  const handoffs = new Map(); // conversation id -> reason, from ConversationNeedsHuman
  const erased = new Set(); // erased conversations: a listing that left before it cannot bring one back
  let epoch = 0;
  let scheduled = false;
  // The current search: its text, the ids it found, and which request is the latest.
  // `matched`: per found conversation, the message holding the text (null: found by its details).
  const search = { q: '', label: null, ids: [], matched: new Map(), loading: false, seq: 0 };

  function changed() {
    if (scheduled) return;
    scheduled = true;
    queueMicrotask(() => {
      scheduled = false;
      events.emit('change');
    });
  }

  /** Takes a conversation (and optionally its newest message) from any source. */
  function upsert(raw, message) {
    const next = normaliseConversation(raw);
    if (!next || erased.has(next.id)) return null;
    const current = cache.get(next.id);
    const m = message ? normaliseMessage(message) : null;
    let merged;
    if (current && isOlder(next, current)) {
      merged = current; // a stale listing: keep ours, but a newer message still counts
    } else {
      merged = Object.assign({}, current, next);
      if (current?.last_message && (!next.last_message || next.last_message.id < current.last_message.id)) merged.last_message = current.last_message;
    }
    if (m && (!merged.last_message || m.id > merged.last_message.id)) merged = Object.assign({}, merged, { last_message: m });
    // Messages are never taken back: the row previews the newest non-system one known.
    const preview = newer(newer(current?.preview_message, next.preview_message), m && m.sender_type !== 'system' ? m : null);
    if (preview !== (merged.preview_message ?? null)) merged = Object.assign({}, merged, { preview_message: preview });
    if (!('status' in merged)) merged.status = 'bot';
    if (!('assigned_agent_id' in merged)) merged.assigned_agent_id = null;
    merged._epoch = ++epoch;
    cache.set(next.id, merged);
    if (merged.status !== 'human') handoffs.delete(next.id);
    changed();
    return merged;
  }

  function unread(c) {
    const last = c?.last_message;
    return !!last && last.sender_type === 'visitor' && last.id > storage.seen(c.id);
  }

  function list(tabId) {
    if (tabId === 'search') return search.ids.map((id) => cache.get(id)).filter(Boolean);
    const tab = TABS.find((t) => t.id === tabId);
    if (!tab) return [];
    const mine = me();
    return [...cache.values()].filter((c) => tab.match(c, mine)).sort((a, b) => time(b) - time(a) || b.id - a.id);
  }

  async function fetchTab(tabId, { more = false } = {}) {
    const tab = TABS.find((t) => t.id === tabId);
    if (!tab) return;
    const params = Object.assign({ limit: PAGE }, tab.params);
    if (more) {
      const shown = list(tabId);
      const oldest = shown.reduce((min, c) => (c.updated_at && (!min || c.updated_at < min) ? c.updated_at : min), null);
      if (oldest) params.before_updated = oldest;
    }
    const started = epoch;
    loading[tabId] = true;
    try {
      const res = await api.conversations(params);
      const got = Array.isArray(res?.conversations) ? res.conversations : [];
      const ids = new Set();
      for (const raw of got) {
        const c = upsert(raw);
        if (c) ids.add(c.id);
      }
      if (!more) {
        const full = got.length >= PAGE;
        const floor = full ? Math.min(...[...ids].map((id) => Date.parse(cache.get(id)?.updated_at || '') || 0)) : -Infinity;
        for (const c of list(tabId)) {
          if (ids.has(c.id) || c._epoch > started) continue;
          if ((Date.parse(c.updated_at || '') || 0) >= floor) cache.delete(c.id);
        }
        hasMore[tabId] = full;
      } else {
        hasMore[tabId] = got.length >= PAGE;
      }
    } finally {
      loading[tabId] = false;
      changed();
    }
  }

  /**
   * Runs the search for `q` and the label filter (both blank end searching); a newer call wins
   * over an older one. `label` undefined keeps the current filter.
   */
  async function setSearch(q, label) {
    const text = (q || '').trim();
    const seq = ++search.seq;
    search.q = text;
    if (label !== undefined) search.label = label;
    if (!text && search.label == null) {
      search.ids = [];
      search.matched = new Map();
      search.loading = false;
      changed();
      return;
    }
    search.loading = true;
    changed();
    try {
      const res = await api.conversations({ q: text, label: search.label, limit: PAGE });
      if (seq !== search.seq) return;
      const got = Array.isArray(res?.conversations) ? res.conversations : [];
      search.ids = got.map((raw) => upsert(raw)?.id).filter((id) => id != null);
      search.matched = new Map();
      for (const raw of got) if (raw && 'matched_message' in raw) search.matched.set(Number(raw.id), raw.matched_message ? normaliseMessage(raw.matched_message) : null);
    } finally {
      if (seq === search.seq) {
        search.loading = false;
        changed();
      }
    }
  }

  return {
    on: events.on,
    upsert,
    setSearch,
    /** The text being searched for, or '' when the tabs are shown. */
    searching: () => search.q,
    /** Whether a search or a label filter shows its results instead of the tabs. */
    filtering: () => !!search.q || search.label != null,
    /** The label filtered by, or null. */
    labelFilter: () => search.label,
    /** For a searched conversation, the message that matched the text (null: its details did; undefined: not searched). */
    matched: (id) => search.matched.get(id),
    get: (id) => cache.get(id) || null,
    list,
    hasMore: (tabId) => tabId !== 'search' && !!hasMore[tabId],
    isLoading: (tabId) => (tabId === 'search' ? search.loading : !!loading[tabId]),
    /** Re-reads some tabs' listings (all by default), and the search results if searching. */
    refresh(tabIds = TABS.map((t) => t.id)) {
      const reads = tabIds.map((id) => fetchTab(id));
      if (search.q || search.label != null) reads.push(setSearch(search.q));
      return Promise.allSettled(reads);
    },
    loadMore: (tabId) => fetchTab(tabId, { more: true }),
    unread,
    /** Messages up to `messageId` of conversation `id` have been seen (here or by any agent). */
    markSeen(id, messageId) {
      if (messageId > storage.seen(id)) {
        storage.setSeen(id, messageId);
        changed();
      }
    },
    /** Conversation `id` was erased: it leaves every tab and the search, for good (ids are never reused). */
    remove(id) {
      erased.add(id);
      cache.delete(id);
      handoffs.delete(id);
      search.ids = search.ids.filter((x) => x !== id);
      changed();
    },
    handoff: (id) => handoffs.get(id) || null,
    setHandoff(id, reason) {
      handoffs.set(id, reason || 'handoff');
      changed();
    },
    counts() {
      const out = {};
      for (const tab of TABS) {
        const rows = list(tab.id);
        out[tab.id] = { total: rows.length, unread: rows.filter(unread).length };
      }
      return out;
    },
  };
}
