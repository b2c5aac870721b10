// workspace.js — owns the signed-in dashboard: it builds the layout (header, inbox, conversation,
// side bar) and connects the parts (api, realtime, inbox, threads, sync, outbox, presence,
// notifier) so that every way a message or a conversation can arrive ends in the inbox cache or
// the open thread, and every change ends in a render. It decides the agent-facing rules: when to
// mark read, which reply shows "Seen", who is typing, what plays a sound, when to poll.

import { createApi } from './api.js';
import { createInbox, TABS } from './inbox.js';
import { createNotifier } from './notify.js';
import { createOutbox } from './outbox.js';
import { createPresence } from './presence.js';
import { createRealtime } from './realtime.js';
import { createSync } from './sync.js';
import { createThread } from './thread.js';
import { h } from '../../shared/ui/dom.js';
import { createDetails } from './ui/details.js';
import { createHeader } from './ui/header.js';
import { createInboxView, visitorName, preview } from './ui/inbox.js';
import { createTeam } from './ui/team.js';
import { createSavedRepliesView } from './ui/saved-replies.js';
import { createThreadView } from './ui/thread.js';

const INBOX_POLL_MS = 3000;
const SEARCH_PAUSE_MS = 250;
const THREAD_POLL_MS = 2500;
const WHISPER_EVERY_MS = 2000;
const MAX_THREADS = 30;
// The server's default; /api/agent/me may say otherwise, and the server's 413 is the last word.
const MAX_UPLOAD_BYTES = 10 * 1024 * 1024;

export function createWorkspace({ root, baseUrl, token, me, storage, onEnd, options = {} }) {
  let self = me.agent;
  let team = [];
  let realtime = null;
  let stopped = false;
  let current = null; // the open thread
  let tab = TABS.some((t) => t.id === storage.tab()) ? storage.tab() : 'waiting';
  let inboxPolling = false;
  let inboxTimer = null;
  let searchTimer = null;
  let polls = 0;
  let readTimer = null;
  let baseline = false; // the first listing has answered: later arrivals in Waiting are news
  const waitingAlerted = new Set();
  const typers = new Map(); // who -> {label, timer}
  const whisper = { last: 0, sent: false, timer: null, want: false };
  const threads = new Map();
  const cleanups = [];

  const api = createApi({
    baseUrl,
    token,
    socketId: () => realtime?.socketId() ?? null,
    onUnauthorized: () => end('The server no longer accepts your token. Sign in again.'),
  });
  const inbox = createInbox({ api, storage, me: () => self?.id });
  const notifier = createNotifier({ sound: options.sound !== false });

  // ---- layout -------------------------------------------------------------------------------

  const header = createHeader({ onAvailability: (a) => presence.set(a), onSignOut: () => signOut() });
  const banner = h('div', { class: 'banner', role: 'status', hidden: true });
  const inboxView = createInboxView({
    onTab: selectTab,
    onOpen: (id) => navigate(id),
    onMore: (id) => inbox.loadMore(id).catch((e) => toast('Could not load more: ' + e.message, { error: true })),
    onSearch: (q) => {
      // Typing pauses briefly before asking, so a word is one request, not one per letter.
      clearTimeout(searchTimer);
      searchTimer = setTimeout(() => inbox.setSearch(q).catch((e) => e?.status !== 401 && toast('Could not search: ' + e.message, { error: true })), q.trim() ? SEARCH_PAUSE_MS : 0);
    },
  });
  const threadView = createThreadView({
    base: api.base,
    onSend: send,
    onAttach: attach,
    onTyping: agentTyping,
    onAction: act,
    onRetry: (cid) => outbox.retry(cid),
    onDiscard: (cid) => outbox.discard(cid),
    onReact: react,
    onBack: () => navigate(null),
    savedReplies: () => savedReplies,
  });
  const details = createDetails();
  let savedReplies = [];
  const savedView = createSavedRepliesView({
    // A refusal (a taken shortcut, say) is thrown to the form, which shows it.
    onAdd: async (shortcut, text) => {
      await api.createSavedReply(shortcut, text);
      await loadSavedReplies();
    },
    onDelete: (reply) =>
      api
        .deleteSavedReply(reply.id)
        .catch((e) => e?.status !== 401 && e?.status !== 404 && toast('Could not delete: ' + e.message, { error: true }))
        .then(loadSavedReplies),
  });

  async function loadSavedReplies() {
    try {
      const res = await api.savedReplies();
      savedReplies = Array.isArray(res?.saved_replies) ? res.saved_replies.filter((r) => r && typeof r.shortcut === 'string' && typeof r.text === 'string') : [];
      savedView.render(savedReplies);
    } catch (error) {
      if (error?.status !== 401) toast('Could not load saved replies: ' + error.message, { error: true });
    }
  }
  const teamView = createTeam();
  const toasts = h('div', { class: 'toasts', role: 'status', 'aria-live': 'polite' });
  const live = h('div', { class: 'sr', 'aria-live': 'polite', 'aria-atomic': 'true', id: 'pd-live' });
  const skip = h('a', { class: 'skip', href: '#pd-reply', text: 'Skip to the reply box' });
  const shell = h(
    'div',
    { class: 'app' },
    skip,
    header.el,
    banner,
    h('div', { class: 'cols' }, inboxView.el, threadView.el, h('aside', { class: 'side', 'aria-label': 'Details' }, details.el, teamView.el, savedView.el)),
    toasts,
    live,
  );

  // ---- small helpers ------------------------------------------------------------------------

  function announce(text) {
    live.textContent = '';
    // A fresh text node after a tick makes screen readers announce repeats too.
    setTimeout(() => {
      live.textContent = text;
    }, 50);
  }

  function toast(text, { error = false, action = null, ms = 6000 } = {}) {
    const node = h('div', { class: 'toast' + (error ? ' error' : '') }, h('span', { text }));
    if (action) node.append(h('button', { type: 'button', class: 'link', text: action.label, onclick: () => (node.remove(), action.run()) }));
    node.append(h('button', { type: 'button', class: 'link dismiss', 'aria-label': 'Dismiss', text: '×', onclick: () => node.remove() }));
    toasts.append(node);
    while (toasts.children.length > 4) toasts.firstChild.remove();
    setTimeout(() => node.remove(), ms);
  }

  function setBanner(text) {
    banner.textContent = text || '';
    banner.hidden = !text;
  }

  function thread(id) {
    let t = threads.get(id);
    if (!t) {
      t = createThread(id);
      t.on('change', () => t === current && renderThread());
      t.on('confirmed', (m) => outbox.acknowledged(m.client_id));
      threads.set(id, t);
      // Keep a few conversations warm; never drop one with replies still going out.
      for (const [key, other] of threads) {
        if (threads.size <= MAX_THREADS) break;
        if (other !== current && !outbox.pendingIn(key) && !other.hasPending()) threads.delete(key);
      }
    }
    return t;
  }

  // ---- rendering ----------------------------------------------------------------------------

  function renderInbox() {
    const counts = inbox.counts();
    const query = inbox.searching();
    const shown = query ? 'search' : tab;
    inboxView.render({
      tab: shown,
      query,
      rows: inbox.list(shown),
      counts,
      openId: current?.state.id ?? null,
      hasMore: inbox.hasMore(shown),
      loading: inbox.isLoading(shown) && (shown === 'search' || !baseline),
      unread: (c) => inbox.unread(c) && c.id !== current?.state.id,
      handoff: inbox.handoff,
      selfName: self?.name,
    });
    notifier.setCount(counts.waiting.total + counts.mine.unread);
  }

  function seenId(t) {
    const read = t.state.readStates.visitor || 0;
    let seen = null;
    for (const m of t.state.messages) if (m.id != null && m.sender_type !== 'visitor' && m.sender_type !== 'system' && m.id <= read) seen = m.id;
    return seen;
  }

  function conversationOf(t) {
    return Object.assign({}, inbox.get(t.state.id), t.state.conversation);
  }

  function renderThread({ forceScroll = false } = {}) {
    if (!current) {
      details.render(null);
      return;
    }
    const t = current;
    const first = t.state.loaded && !t._shown;
    if (first) t._shown = true;
    const conversation = conversationOf(t);
    threadView.render({
      conversation,
      messages: t.state.messages,
      loaded: t.state.loaded,
      selfId: self?.id,
      team,
      seenId: seenId(t),
      reactions: t.state.reactions,
      forceScroll: forceScroll || first,
    });
    details.render(conversation, team);
    markRead();
  }

  function renderTeam() {
    teamView.render(team, self?.id);
  }

  // ---- reading, typing ----------------------------------------------------------------------

  function markRead() {
    const t = current;
    if (!t || !t.state.loaded || document.hidden) return;
    const last = t.highestId();
    inbox.markSeen(t.state.id, last);
    if (last <= (t.state.readStates.agent || 0)) return;
    t.applyReadState({ reader: 'agent', last_read_id: last });
    clearTimeout(readTimer);
    const id = t.state.id;
    readTimer = setTimeout(() => api.markRead(id, last).catch(() => {}), 300); // a burst, one request
  }

  function showTyping() {
    const labels = [...typers.values()].map((v) => v.label);
    threadView.setTyping(labels.length ? labels.join(', ') + (labels.length > 1 ? ' are typing…' : ' is typing…') : null);
  }

  function setTyper(who, label, on, ms) {
    const before = typers.get(who);
    if (before) clearTimeout(before.timer);
    if (on) typers.set(who, { label, timer: setTimeout(() => setTyper(who, label, false), ms) });
    else typers.delete(who);
    showTyping();
  }

  function clearTypers() {
    for (const v of typers.values()) clearTimeout(v.timer);
    typers.clear();
    showTyping();
  }

  /** The agent's typing, as whispers throttled to at most one per 2 s (the latest value wins). */
  function agentTyping(on) {
    whisper.want = on;
    if (whisper.timer) return;
    const wait = whisper.last + WHISPER_EVERY_MS - Date.now();
    if (wait > 0) whisper.timer = setTimeout(flushTyping, wait);
    else flushTyping();
  }

  function flushTyping() {
    whisper.timer = null;
    if (!whisper.want && !whisper.sent) return; // nothing to take back
    whisper.last = Date.now();
    whisper.sent = whisper.want;
    realtime?.whisper({ typing: whisper.want, name: self?.name || 'Agent', sender_type: 'agent' });
  }

  // ---- incoming -----------------------------------------------------------------------------

  /** New messages in the open conversation (live = not history). */
  function incoming(t, fresh, { live: isLive = true } = {}) {
    if (!fresh.length || t !== current) return;
    const name = visitorName(conversationOf(t));
    let fromVisitor = null;
    for (const m of fresh) {
      if (m.sender_type === 'visitor') {
        setTyper('visitor', name, false);
        fromVisitor = m;
        if (isLive) announce('New message from ' + name + ': ' + (m.message || m.attachment_name || ''));
      } else if (m.sender_type === 'bot') setTyper('bot', 'Bot', false);
      else if (m.sender_type === 'agent' && m.sender_name && m.sender_name !== self?.name) {
        setTyper('agent:' + m.sender_name, m.sender_name, false);
        if (isLive) announce(m.sender_name + ' replied: ' + m.message);
      }
    }
    if (fromVisitor && isLive) notifier.alert(name + ': ' + preview(fromVisitor));
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
    announce(who + ' is waiting for an agent.');
    notifier.alert(who + ' needs a human');
    if (current?.state.id !== id) {
      toast(who + ' needs a human' + (reason && reason !== 'handoff' ? ' (' + String(reason).replace(/_/g, ' ') + ')' : '') + '.', { action: { label: 'Open', run: () => navigate(id) }, ms: 10000 });
    }
  }

  function onAgentsEvent(name, data) {
    if (name === 'AgentAvailability') return presence.applyEvent(data);
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
      if (c) inbox.upsert(c, m);
      else if (m) noteMessage(m);
      const id = Number(c?.id ?? m?.conversation_id);
      const t = threads.get(id);
      if (t && c) t.setConversation(c);
      // Shown at once in the open conversation; the cursor does not move (see thread.js).
      if (t && t === current && m) incoming(t, t.merge([m]));
      else if (m && m.sender_type === 'visitor') {
        const conv = inbox.get(id);
        if (conv && conv.assigned_agent_id === self?.id) notifier.alert(visitorName(conv) + ': ' + preview(m));
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
    if (threads.get(id) && threads.get(id) === current) return void sync.fill('truncated');
    const hasMessage = Number.isSafeInteger(messageId) && messageId > 0;
    try {
      const res = await api.conversation(id, hasMessage ? messageId - 1 : Number.MAX_SAFE_INTEGER, 1);
      if (stopped) return;
      const m = (res.messages || []).find((x) => Number(x?.id) === messageId) || null;
      onAgentsEvent('InboxUpdated', { conversation: res.conversation, message: m });
    } catch {
      if (!stopped) inbox.refresh();
    }
  }

  function onConversationEvent(id, name, data) {
    const t = threads.get(id);
    if (!t || t !== current) return;
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
    } else if (name === 'BotTyping') setTyper('bot', 'Bot', !!data.typing, 20000);
  }

  function onWhisper(id, data) {
    if (!current || current.state.id !== id) return;
    if (data.sender_type === 'visitor') setTyper('visitor', visitorName(conversationOf(current)), !!data.typing, 6000);
    else if (data.sender_type === 'agent') {
      const who = typeof data.name === 'string' && data.name ? data.name : 'Another agent';
      setTyper('agent:' + who, who, !!data.typing, 6000);
    }
  }

  // ---- the open conversation ----------------------------------------------------------------

  function open(id) {
    if (current?.state.id === id) return;
    if (whisper.sent) {
      whisper.want = false;
      clearTimeout(whisper.timer);
      flushTyping();
    }
    clearTypers();
    current = id == null ? null : thread(id);
    threadView.show(id);
    realtime.follow(id);
    sync.setPolling(id != null && !realtime.isLive('conversation'));
    renderInbox();
    if (!current) return renderThread();
    const known = inbox.get(id);
    if (known && !current.state.conversation) current.setConversation(known);
    current._shown = false;
    renderThread({ forceScroll: true });
    sync.fill('open');
  }

  /** Opens what the address says (a link, a reload, Back); the inbox shows that one's tab. */
  function route({ fromList = false } = {}) {
    const m = /^#\/c\/(\d+)$/.exec(location.hash);
    const id = m ? Number(m[1]) : null;
    open(id);
    if (current) current._showTab = !fromList;
    if (id != null) threadView.composer.focus();
  }

  function showTabOf(t) {
    if (!t._showTab) return;
    const c = conversationOf(t);
    if (!c.status) return;
    t._showTab = false;
    const home = TABS.find((x) => x.match(c, self?.id));
    if (home && home.id !== tab) selectTab(home.id);
  }

  function navigate(id) {
    const hash = id == null ? '' : '#/c/' + id;
    if (location.hash !== hash) history.pushState(null, '', hash || location.pathname + location.search);
    route({ fromList: true });
  }

  function selectTab(id) {
    if (tab === id) return;
    tab = id;
    storage.setTab(id);
    renderInbox();
    inbox.refresh([id]);
  }

  // ---- actions ------------------------------------------------------------------------------

  function send(text) {
    if (!current) return;
    outbox.send(current.state.id, text, self?.name || 'Agent');
    threadView.scrollToEnd();
  }

  /** Files as replies; the caption goes with the first. */
  function attach(files, caption) {
    if (!current) return;
    const maxBytes = Number(me.limits?.max_upload_bytes) || MAX_UPLOAD_BYTES;
    files.forEach((file, i) => outbox.sendFile(current.state.id, { file, caption: i ? '' : caption, maxBytes }, self?.name || 'Agent'));
    threadView.scrollToEnd();
  }

  async function act(action, arg) {
    const t = current;
    if (!t) return;
    const id = t.state.id;
    try {
      let res;
      if (action === 'assignMe') res = await api.assign(id);
      else if (action === 'assign') res = await api.assign(id, arg);
      else if (action === 'status') res = await api.setStatus(id, arg);
      else return;
      if (res?.conversation) {
        t.setConversation(res.conversation);
        inbox.upsert(res.conversation);
      }
      const done = { assignMe: 'Assigned to you.', assign: arg == null ? 'Unassigned.' : 'Assigned.', status: { closed: 'Conversation closed.', bot: 'Handed back to the bot.', human: 'Conversation reopened.' }[arg] };
      announce(typeof done[action] === 'string' ? done[action] : 'Done.');
    } catch (error) {
      if (error?.status !== 401) toast('Could not do that: ' + error.message, { error: true });
      renderThread(); // put the assignee picker back
    }
  }

  /** Adds or removes this agent's reaction; the answer (and the event) carry the new set. */
  async function react(m, emoji, on) {
    const t = current;
    if (!t || m.id == null) return;
    try {
      const res = await api.react(t.state.id, m.id, emoji, on);
      // setReactions re-renders the thread, as for the ReactionsUpdated event.
      if (res?.reactions) t.setReactions(res.reactions.message_id, res.reactions.reactions);
    } catch (error) {
      if (error?.status !== 401) toast('Could not react: ' + error.message, { error: true });
    }
  }

  async function signOut() {
    const p = presence.signOut();
    stop();
    await p;
    onEnd(null, { signedOut: true });
  }

  function end(reason) {
    if (stopped) return;
    stop();
    onEnd(reason, { signedOut: true });
  }

  // ---- polling the inbox --------------------------------------------------------------------

  function setInboxPolling(on) {
    if (on === inboxPolling) return;
    inboxPolling = on;
    clearTimeout(inboxTimer);
    inboxTimer = null;
    if (on) inboxTimer = setTimeout(pollInbox, INBOX_POLL_MS);
  }

  function pollInbox() {
    inboxTimer = null;
    if (!inboxPolling || stopped) return;
    const tabs = [...new Set([tab, 'waiting', 'mine'])];
    if (++polls % 3 === 0) presence.refreshTeam();
    inbox.refresh(tabs).finally(() => {
      if (!inboxPolling || inboxTimer || stopped) return;
      inboxTimer = setTimeout(pollInbox, INBOX_POLL_MS * (document.hidden ? 2 : 1));
    });
  }

  // ---- the parts ----------------------------------------------------------------------------

  const outbox = createOutbox({
    api,
    thread,
    onSent: (message, res) => {
      noteMessage(message);
      if (res?.conversation) inbox.upsert(res.conversation);
      // Replying to the bot's conversation takes it over: fetch its new state.
      const t = threads.get(Number(message.conversation_id));
      if (t && t === current && conversationOf(t).status !== 'human') sync.fill('sent');
    },
  });

  const sync = createSync({
    api,
    current: () => current,
    intervalMs: THREAD_POLL_MS,
    onFetched: (t, fresh, reason, res) => {
      if (res?.conversation) inbox.upsert(res.conversation);
      const last = fresh[fresh.length - 1];
      if (last) noteMessage(last);
      showTabOf(t);
      incoming(t, fresh, { live: reason !== 'open' });
    },
    onGone: (id) => {
      toast('Conversation #' + id + ' is not available.', { error: true });
      if (current?.state.id === id) navigate(null);
    },
  });

  const presence = createPresence({
    api,
    storage,
    onSelf: (agent) => {
      self = agent;
      header.setAgent(agent);
      renderTeam();
    },
    onTeam: (agents) => {
      team = agents;
      renderTeam();
      if (current) renderThread();
    },
    onError: (error, what) => toast((what === 'availability' ? 'Could not change your availability: ' : 'Could not reach the server: ') + error.message, { error: true }),
  });

  realtime = createRealtime({
    config: me.realtime || me,
    agentId: self?.id,
    api,
    options: options.realtime,
    handlers: {
      onStatus: (s) => {
        if (stopped) return;
        sync.setPolling(current != null && !s.conversation);
        setInboxPolling(!s.agents);
        const state = s.provider === 'polling' ? 'polling' : s.agents ? 'live' : 'connecting';
        const detail = s.provider === 'polling' ? 'No real-time connection: checking every few seconds.' : s.provider ? 'Real-time via ' + s.provider : '';
        header.setConnection(navigator.onLine === false ? 'offline' : state, detail);
      },
      onAgentsSubscribed: () => {
        inbox.refresh();
        presence.refreshTeam();
      },
      onAgentsEvent,
      onConversationSubscribed: (id) => {
        if (!threads.get(id)) return;
        sync.fill('subscribed');
      },
      onConversationEvent,
      onWhisper,
    },
  });

  // ---- start --------------------------------------------------------------------------------

  function listen(target, type, fn, opts) {
    target.addEventListener(type, fn, opts);
    cleanups.push(() => target.removeEventListener(type, fn, opts));
  }

  function stop() {
    if (stopped) return;
    stopped = true;
    realtime.stop();
    presence.stop();
    notifier.stop();
    sync.setPolling(false);
    setInboxPolling(false);
    clearTimeout(readTimer);
    clearTimeout(searchTimer);
    clearTimeout(whisper.timer);
    clearTypers();
    threadView.stop();
    for (const fn of cleanups.splice(0)) fn();
    if (window.ParleyDashboard?.__workspace === api) delete window.ParleyDashboard;
  }

  function start() {
    root.replaceChildren(shell);
    root.removeAttribute('aria-busy');
    inbox.on('change', () => {
      renderInbox();
      waitingArrived();
    });
    header.setAgent(self);
    header.setConnection('connecting');
    presence.start(self);
    realtime.start();
    loadSavedReplies();
    inbox.refresh().then(() => {
      baseline = true;
      for (const c of inbox.list('waiting')) waitingAlerted.add(c.id);
      renderInbox();
    });
    listen(window, 'popstate', () => route());
    listen(window, 'online', () => {
      setBanner(null);
      outbox.kick();
      realtime.nudge();
      if (current) sync.fill('online');
      inbox.refresh();
    });
    listen(window, 'offline', () => setBanner('You are offline. Replies wait and go out when the network is back.'));
    listen(document, 'visibilitychange', () => {
      if (document.hidden) return;
      if (current) sync.fill('visible');
      markRead();
      renderInbox();
    });
    const clock = setInterval(renderInbox, 30000); // relative times
    cleanups.push(() => clearInterval(clock));
    if (navigator.onLine === false) setBanner('You are offline. Replies wait and go out when the network is back.');
    route();
    renderInbox();
    renderTeam();
    // For debugging and the browser tests: a read-only view of what the dashboard holds.
    window.ParleyDashboard = {
      __workspace: api,
      get state() {
        return {
          agent: self,
          provider: realtime.provider,
          agentsLive: realtime.isLive('agents'),
          conversationLive: realtime.isLive('conversation'),
          conversationId: current?.state.id ?? null,
          messages: (current?.state.messages || []).map((m) => ({ id: m.id, sender_type: m.sender_type, message: m.message, attachment_name: m.attachment_name, client_id: m.client_id, pending: !!m._pending })),
          tab,
        };
      },
      get echo() {
        return realtime.echo;
      },
    };
  }

  return { start, stop };
}
