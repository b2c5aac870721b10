// incoming.js — owns what arrives for the agent: new messages in the open conversation (read
// out to screen readers, typing hints cleared, a chime and a flashing title while the tab is
// hidden), the team channel's events (availability, a conversation newly needing a human, inbox
// updates, an erased conversation, private notes, mentions of this agent, conversations given to
// or taken from them (assigned.js), labels), the open conversation's events and whispers, and conversations newly waiting in the
// inbox (a notice, once each). An event too large to send whole (`truncated`) is fetched.

import { createAssignedNotices } from './assigned.js';
import { visitorName, preview } from './ui/inbox.js';

/**
 * @param {object} o
 * @param {() => object|null} o.open the open conversation's thread
 * @param {() => object|null} o.self this agent
 * @param {(t: object) => object} o.conversationOf what is known of a thread's conversation
 * @param {(id: number|null) => void} o.navigate opens a conversation
 * @param {() => boolean} o.stopped the workspace has stopped
 */
export function createIncoming({ api, inbox, threads, notes, labels, sync, presence, notifier, layout, typing, open, self, conversationOf, navigate, stopped }) {
  let baseline = false; // the first listing has answered: later arrivals in Waiting are news
  const waitingAlerted = new Set();
  // Conversations given to this agent or taken from them (their own channel).
  const assignedNotices = createAssignedNotices({ inbox, threads, notes, notifier, layout, open, navigate });

  /** New messages in the open conversation (live = not history). */
  function incoming(t, fresh, { live: isLive = true } = {}) {
    if (!fresh.length || t !== open()) return;
    const name = visitorName(conversationOf(t));
    let fromVisitor = null;
    for (const m of fresh) {
      if (m.sender_type === 'visitor') {
        typing.set('visitor', name, false);
        fromVisitor = m;
        if (isLive) layout.announce('New message from ' + name + ': ' + (m.message || m.attachment_name || ''));
      } else if (m.sender_type === 'bot') typing.set('bot', 'Bot', false);
      else if (m.sender_type === 'agent' && m.sender_name && m.sender_name !== self()?.name) {
        typing.set('agent:' + m.sender_name, m.sender_name, false);
        if (isLive) layout.announce(m.sender_name + ' replied: ' + m.message);
      }
    }
    // The open conversation is the agent's work: news of it unless they are looking at it.
    if (fromVisitor && isLive) notifier.notify('assigned', name + ': ' + preview(fromVisitor), t.state.id);
  }

  function noteMessage(m) {
    const id = Number(m?.conversation_id);
    if (inbox.get(id)) inbox.upsert({ id }, m);
  }

  function waitingArrived() {
    if (!baseline) return;
    const now = new Set();
    for (const c of inbox.list('waiting')) {
      now.add(c.id);
      if (!waitingAlerted.has(c.id)) alertWaiting(c.id, c.visitor_name, inbox.handoff(c.id));
    }
    for (const id of waitingAlerted) if (!now.has(id)) waitingAlerted.delete(id);
  }

  function alertWaiting(id, name, reason) {
    if (waitingAlerted.has(id)) return;
    waitingAlerted.add(id);
    const who = name || 'Visitor #' + id;
    layout.announce(who + ' is waiting for an agent.');
    notifier.notify('handoff', who + ' needs an agent', id);
    if (open()?.state.id !== id) {
      layout.toast(who + ' needs an agent' + (reason && reason !== 'handoff' ? ' (' + String(reason).replace(/_/g, ' ') + ')' : '') + '.', { action: { label: 'Open', run: () => navigate(id) }, ms: 10000 });
    }
  }

  /**
   * Conversation `id` was erased (an admin's erasure, or its widget's retention): it leaves the
   * inbox, and if it is open the page goes back to the inbox and says why. Both its channel and
   * its widget's inbox channel say so; the second time changes nothing.
   */
  function erased(id) {
    if (!Number.isSafeInteger(id) || id <= 0) return;
    inbox.remove(id);
    waitingAlerted.delete(id);
    if (open()?.state.id === id) {
      layout.toast('Conversation #' + id + ' was erased.', { ms: 10000 });
      layout.announce('Conversation #' + id + ' was erased.');
      navigate(null);
    }
    threads.forget(id);
  }

  /** A note mentions this agent: said aloud, a toast that opens it, and the notifier. */
  function mentioned(data) {
    const id = Number(data.conversation_id);
    if (!Number.isSafeInteger(id)) return;
    const note = notes.add(data.note);
    const by = typeof data.by?.name === 'string' ? data.by.name : 'An agent';
    const text = by + ' mentioned you: ' + (note?.body || '').replace(/\s+/g, ' ').slice(0, 140);
    layout.announce(text);
    notifier.notify('mention', text, id);
    if (open()?.state.id !== id) layout.toast(text, { action: { label: 'Open', run: () => navigate(id) }, ms: 15000 });
  }

  /** Started in the last few minutes (not an old conversation coming back into view). */
  function isFresh(c) {
    const started = Date.parse(c.created_at || '');
    return Number.isFinite(started) && Date.now() - started < 5 * 60 * 1000;
  }

  function onAgentsEvent(name, data) {
    if (name === 'AgentAvailability') return presence.applyEvent(data);
    if (name === 'NoteAdded') return void notes.add(data);
    if (name === 'AgentMentioned') return mentioned(data);
    if (name === 'ConversationAssigned') return assignedNotices.assigned(data);
    if (name === 'ConversationUnassigned') return assignedNotices.unassigned(data);
    if (name === 'LabelsChanged') return void labels.load();
    if (name === 'LabelsUpdated') {
      const id = Number(data.conversation_id);
      const ids = Array.isArray(data.label_ids) ? data.label_ids.map(Number).filter(Number.isSafeInteger) : [];
      if (inbox.get(id)) inbox.upsert({ id, labels: ids });
      threads.get(id)?.setConversation({ labels: ids });
      return;
    }
    if (name === 'ConversationErased') return erased(Number(data.conversation_id));
    if (name === 'ConversationNeedsHuman') {
      const id = Number(data.conversation_id);
      if (!Number.isSafeInteger(id)) return;
      inbox.setHandoff(id, data.reason);
      const known = inbox.get(id);
      if (!known || known.status !== 'human') inbox.refresh(['waiting']);
      if (!known || known.assigned_agent_id == null) alertWaiting(id, data.visitor_name || known?.visitor_name, data.reason);
      return;
    }
    if (name === 'InboxUpdated' && data.truncated) return void fetchWhole(data);
    if (name === 'InboxUpdated') {
      const c = data.conversation && typeof data.conversation === 'object' ? data.conversation : null;
      const m = data.message && typeof data.message === 'object' ? data.message : null;
      // A conversation this page has not seen, started since the inbox was first listed: news.
      if (c && baseline && !inbox.get(Number(c.id)) && m?.sender_type === 'visitor' && isFresh(c)) {
        notifier.notify('new', 'New conversation: ' + visitorName(c) + ': ' + preview(m), Number(c.id));
      }
      if (c) inbox.upsert(c, m);
      else if (m) noteMessage(m);
      const id = Number(c?.id ?? m?.conversation_id);
      const t = threads.get(id);
      if (t && c) t.setConversation(c);
      // Shown at once in the open conversation; the cursor does not move (see thread.js).
      if (t && t === open() && m) incoming(t, t.merge([m]));
      else if (m && m.sender_type === 'visitor') {
        const conv = inbox.get(id);
        if (conv && conv.assigned_agent_id === self()?.id) notifier.notify('assigned', visitorName(conv) + ': ' + preview(m), id);
      }
    }
  }

  /**
   * An inbox update that was too large for an event (`truncated`: ids only): reads the
   * conversation and its message, then handles them as if they had come whole.
   */
  async function fetchWhole(data) {
    const id = Number(data.conversation?.id ?? data.message?.conversation_id);
    const messageId = Number(data.message?.id);
    if (!Number.isSafeInteger(id) || id <= 0) return;
    // The open conversation's own catch-up reads it (and updates its inbox row); its channel's
    // truncated event started one already, which this joins rather than fetching again.
    if (threads.get(id) && threads.get(id) === open()) return void sync.fill('truncated');
    const hasMessage = Number.isSafeInteger(messageId) && messageId > 0;
    try {
      const res = await api.conversation(id, hasMessage ? messageId - 1 : Number.MAX_SAFE_INTEGER, 1);
      if (stopped()) return;
      const m = (res.messages || []).find((x) => Number(x?.id) === messageId) || null;
      onAgentsEvent('InboxUpdated', { conversation: res.conversation, message: m });
    } catch {
      if (!stopped()) inbox.refresh();
    }
  }

  function onConversationEvent(id, name, data) {
    if (name === 'ConversationErased') return erased(id);
    const t = threads.get(id);
    if (!t || t !== open()) return;
    // Too large for an event: only ids came, and the catch-up fetches the rest.
    if (data.truncated) return void sync.fill('truncated');
    if (name === 'ChatMessageReceived') {
      // Shown at once; the cursor does not move (see thread.js).
      const fresh = t.merge([data]);
      noteMessage(data);
      incoming(t, fresh);
    } else if (name === 'MessageRead') {
      t.applyReadState(data);
      if (data.reader === 'agent') inbox.markSeen(id, Number(data.last_read_id) || 0);
    } else if (name === 'ReactionsUpdated') t.setReactions(data.message_id, data.reactions);
    else if (name === 'ConversationUpdated') {
      t.setConversation(data);
      if (inbox.get(id)) inbox.upsert(Object.assign({}, data, { id }));
    } else if (name === 'ConversationRated') t.setConversation({ rating: data });
    else if (name === 'BotTyping') typing.set('bot', 'Bot', !!data.typing, 20000);
  }

  function onWhisper(id, data) {
    const current = open();
    if (!current || current.state.id !== id) return;
    if (data.sender_type === 'visitor') typing.set('visitor', visitorName(conversationOf(current)), !!data.typing, 6000);
    else if (data.sender_type === 'agent') {
      const who = typeof data.name === 'string' && data.name ? data.name : 'Another agent';
      typing.set('agent:' + who, who, !!data.typing, 6000);
    }
  }

  return {
    incoming,
    noteMessage,
    waitingArrived,
    onAgentsEvent,
    onConversationEvent,
    onWhisper,
    /** The first listing answered: what waits now is known, and only later arrivals are news. */
    setBaseline() {
      baseline = true;
      for (const c of inbox.list('waiting')) waitingAlerted.add(c.id);
    },
    hasBaseline: () => baseline,
  };
}
