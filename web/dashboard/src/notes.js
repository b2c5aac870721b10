// notes.js — owns the agents' private notes as this page knows them: per conversation, loaded
// when the conversation opens, kept in id order whatever route a note arrives by (the answer to
// this agent's own note, `NoteAdded` on the widget's inbox channel, a reload), each once. Notes
// never touch the visitor's side: they are not messages and have no channel of their own.

export function normaliseNote(raw) {
  const id = Number(raw?.id);
  const conversationId = Number(raw?.conversation_id);
  if (!Number.isSafeInteger(id) || id <= 0 || !Number.isSafeInteger(conversationId)) return null;
  return {
    id,
    conversation_id: conversationId,
    agent_id: Number(raw.agent_id) || null,
    agent_name: typeof raw.agent_name === 'string' ? raw.agent_name : null,
    body: typeof raw.body === 'string' ? raw.body : '',
    mentions: Array.isArray(raw.mentions) ? raw.mentions.map(Number).filter(Number.isSafeInteger) : [],
    created_at: typeof raw.created_at === 'string' ? raw.created_at : null,
  };
}

export function createNotes({ api, onChange }) {
  const byConversation = new Map(); // id -> notes, id order
  const loading = new Map(); // id -> promise

  function add(raw) {
    const note = normaliseNote(raw);
    if (!note) return null;
    const list = byConversation.get(note.conversation_id);
    if (!list) return note; // not loaded here: its first load brings it
    if (!list.some((n) => n.id === note.id)) {
      list.push(note);
      list.sort((a, b) => a.id - b.id);
      onChange(note.conversation_id);
    }
    return note;
  }

  return {
    /** The notes of `id` as known (empty until loaded). */
    list: (id) => byConversation.get(id) || [],
    /** Whether `id`'s notes were read (or are being read). */
    loaded: (id) => byConversation.has(id) || loading.has(id),
    /** Reads `id`'s notes (once at a time); later arrivals merge in. */
    load(id) {
      if (loading.has(id)) return loading.get(id);
      const p = api
        .notes(id)
        .then((res) => {
          const list = byConversation.get(id) || [];
          byConversation.set(id, list);
          for (const raw of res?.notes || []) {
            const note = normaliseNote(raw);
            if (note && !list.some((n) => n.id === note.id)) list.push(note);
          }
          list.sort((a, b) => a.id - b.id);
          onChange(id);
        })
        .finally(() => loading.delete(id));
      loading.set(id, p);
      return p;
    },
    add,
    /** Writes a note; resolves to it (also merged), rejects with the server's refusal. */
    async write(id, body, mentionIds) {
      const res = await api.addNote(id, body, mentionIds);
      return add(res?.note);
    },
    forget(id) {
      byConversation.delete(id);
    },
  };
}
