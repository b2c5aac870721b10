// workspace.js — owns the signed-in dashboard: it creates the parts (api, inbox, threads, sync,
// outbox, presence, realtime, notifier; the layout, typing, what arrives, navigation, the
// agent's actions, saved replies, the person's sessions) and connects them so that every way a
// message or a conversation can arrive ends in the inbox cache or the open thread, and every
// change ends in a render. It decides the rules between the parts: when to mark read, which reply
// shows "Seen", when to poll the inbox and the open conversation, what signing out undoes.

import { createCatchUp } from '../../shared/catch-up.js';
import { createActions } from './actions.js';
import { createAdmin, isAdmin } from './admin/admin.js';
import { createApi } from './api.js';
import { createInbox } from './inbox.js';
import { createIncoming } from './incoming.js';
import { createLabels } from './labels.js';
import { createNavigation } from './navigation.js';
import { createNotes } from './notes.js';
import { createNotifier } from './notify.js';
import { createOutbox } from './outbox.js';
import { createPresence } from './presence.js';
import { createRealtime } from './realtime.js';
import { createRender } from './render.js';
import { createReports } from './reports/reports.js';
import { createSavedReplies } from './saved-replies.js';
import { createSessions } from './sessions.js';
import { createShortcuts } from './shortcuts.js';
import { createSync } from './sync.js';
import { createThreads } from './thread.js';
import { createTyping } from './typing.js';
import { createLayout } from './ui/layout.js';
import { createNotificationSettings } from './ui/notification-settings.js';

const INBOX_POLL_MS = 3000;
const SEARCH_PAUSE_MS = 250;
const THREAD_POLL_MS = 2500;

/**
 * @param {object} o
 * @param {object} o.credential how the agent is signed in (see api.js): a password session or a token
 * @param {string} o.endedMessage what the sign-in form says when the server stops accepting it
 * @param {(reason: string|null) => void} o.onEnd the workspace is over: signed out (null) or refused
 */
export function createWorkspace({ root, baseUrl, credential, endedMessage, me, storage, onEnd, options = {} }) {
  let self = me.agent;
  let team = [];
  let realtime = null;
  let stopped = false;
  let searchTimer = null;
  let lastQuery = '';
  let polls = 0;
  const cleanups = [];
  const open = () => nav.current;
  const agentName = () => self?.name || 'Agent';

  const api = createApi({
    baseUrl,
    credential,
    socketId: () => realtime?.socketId() ?? null,
    onUnauthorized: () => end(endedMessage),
  });
  const inbox = createInbox({ api, storage, me: () => self?.id });
  const notes = createNotes({ api, onChange: (id) => open()?.state.id === id && render.thread() });
  const labels = createLabels({
    api,
    onChange: () => {
      render.inbox();
      render.thread();
    },
  });
  const notifier = createNotifier({
    sound: options.sound !== false,
    agentId: () => self?.id,
    // Looking at it: the page in front, focused, with that conversation open.
    lookingAt: (id) => !document.hidden && document.hasFocus() && open()?.state.id === id,
    onOpen: (id) => nav.navigate(id),
  });

  const layout = createLayout({
    header: {
      onAvailability: (a) => presence.set(a),
      onSignOut: () => signOut(),
      onSessions: api.isSession ? (from) => sessions.open(from) : null,
      // Admins only: the team, widgets, knowledge and audit log (agents never see the button).
      onAdmin: isAdmin(me.agent) ? (from) => adminArea().open(from) : null,
      // Everyone: an agent sees their own conversations' figures, an admin everyone's.
      onReports: (from) => reports.open(from),
      onNotifications: (from) => notificationSettings().open(from),
    },
    inbox: {
      onTab: (id) => nav.selectTab(id),
      onOpen: (id) => nav.navigate(id),
      onMore: (id) => inbox.loadMore(id).catch((e) => layout.toast('Could not load more: ' + e.message, { error: true })),
      onLabel: (label) => {
        inbox.setSearch(lastQuery, label).catch((e) => e?.status !== 401 && layout.toast('Could not filter: ' + e.message, { error: true }));
      },
      onSearch: (q) => {
        lastQuery = q;
        // Typing pauses briefly before asking, so a word is one request, not one per letter.
        clearTimeout(searchTimer);
        searchTimer = setTimeout(() => inbox.setSearch(q).catch((e) => e?.status !== 401 && layout.toast('Could not search: ' + e.message, { error: true })), q.trim() ? SEARCH_PAUSE_MS : 0);
      },
    },
    thread: {
      base: api.base,
      onSend: (text) => actions.send(text),
      onAttach: (files, caption) => actions.attach(files, caption),
      onTyping: (on) => typing.agent(on),
      onNote: (text, mentionIds) => actions.note(text, mentionIds),
      team: () => team.filter((a) => a.id !== self?.id),
      onAction: (action, arg) => actions.act(action, arg),
      onRetry: (cid) => outbox.retry(cid),
      onDiscard: (cid) => outbox.discard(cid),
      onReact: (m, emoji, on) => actions.react(m, emoji, on),
      onBack: () => nav.navigate(null),
      savedReplies: () => savedReplies.list(),
    },
    // A refusal (a taken shortcut, say) is thrown to the form, which shows it.
    savedReplies: { onAdd: (shortcut, text) => savedReplies.add(shortcut, text), onUpdate: (reply, shortcut, text) => savedReplies.update(reply, shortcut, text), onDelete: (reply) => savedReplies.remove(reply) },
    // Signed in with a password: where else this person is signed in, and signing those out.
    sessions: api.isSession
      ? { onEnd: (s) => sessions.end(s), onRefresh: () => sessions.load(), onNewToken: () => sessions.newToken(), onRevokeToken: () => sessions.revokeToken() }
      : null,
  });
  const { header, threadView, toast } = layout;
  const savedReplies = createSavedReplies({ api, toast, render: (list) => layout.savedView.render(list) });
  const sessions = api.isSession ? createSessions({ api, view: layout.sessionsView }) : null;
  const reports = createReports({ api, credential, admin: isAdmin(me.agent) });
  let notifySettings = null;
  /** The Notifications dialog, made when first opened. */
  function notificationSettings() {
    if (!notifySettings) {
      notifySettings = createNotificationSettings({ notifier });
      layout.shell.append(notifySettings.el);
    }
    return notifySettings;
  }
  let admin = null;
  /** The Admin area, made when first opened. */
  function adminArea() {
    if (!admin) {
      admin = createAdmin({ api });
      layout.shell.append(admin.el);
    }
    return admin;
  }

  const render = createRender({
    api,
    inbox,
    notes,
    labels,
    notifier,
    layout,
    open,
    tab: () => nav.tab,
    self: () => self,
    team: () => team,
    loaded: () => incoming.hasBaseline(),
  });
  const { conversationOf } = render;

  // ---- the parts ----------------------------------------------------------------------------

  const threads = createThreads({
    open,
    sending: (id) => outbox.pendingIn(id),
    onChange: () => render.thread(),
    onConfirmed: (m) => outbox.acknowledged(m.client_id),
  });

  const outbox = createOutbox({
    api,
    thread: threads.thread,
    maxBytes: () => Number(me.limits?.max_upload_bytes) || 10 * 1024 * 1024,
    onSent: (message, res) => {
      incoming.noteMessage(message);
      if (res?.conversation) inbox.upsert(res.conversation);
      // Replying to the bot's conversation takes it over: fetch its new state.
      const t = threads.get(Number(message.conversation_id));
      if (t && t === open() && conversationOf(t).status !== 'human') sync.fill('sent');
    },
  });

  const sync = createSync({
    api,
    current: open,
    intervalMs: THREAD_POLL_MS,
    onFetched: (t, fresh, reason, res) => {
      if (res?.conversation) inbox.upsert(res.conversation);
      const last = fresh[fresh.length - 1];
      if (last) incoming.noteMessage(last);
      nav.showTabOf(t);
      incoming.incoming(t, fresh, { live: reason !== 'open' });
    },
    onGone: (id) => {
      // Nothing is open any more (an erased conversation was closed already).
      if (id == null) return;
      toast('Conversation #' + id + ' is not available.', { error: true });
      if (open()?.state.id === id) nav.navigate(null);
    },
  });

  // While the team channel is not live: the open tab's listing, Waiting and Mine every 3 s (6 s
  // in a hidden tab), and the team every third time.
  const inboxPoller = createCatchUp({
    intervalMs: INBOX_POLL_MS,
    fillOnce: () => {
      if (++polls % 3 === 0) presence.refreshTeam();
      return inbox.refresh([...new Set([nav.tab, 'waiting', 'mine'])]);
    },
    onError: () => {}, // inbox.refresh settles every listing itself
  });

  const presence = createPresence({
    api,
    storage,
    onSelf: (agent) => {
      self = agent;
      header.setAgent(agent);
      render.team();
    },
    onTeam: (agents) => {
      team = agents;
      render.team();
      if (open()) render.thread();
    },
    onError: (error, what) => toast((what === 'availability' ? 'Could not change your availability: ' : 'Could not reach the server: ') + error.message, { error: true }),
  });

  const typing = createTyping({ show: (line) => threadView.setTyping(line), whisper: (payload) => realtime?.whisper(payload), name: agentName });

  const incoming = createIncoming({ api, inbox, threads, notes, labels, sync, presence, notifier, layout, typing, open, self: () => self, conversationOf, navigate: (id) => nav.navigate(id), stopped: () => stopped });

  const nav = createNavigation({ storage, inbox, threads, sync, typing, layout, realtime: () => realtime, self: () => self, conversationOf, renderInbox: render.inbox, renderThread: render.thread });

  const actions = createActions({ api, outbox, inbox, notes, layout, open, name: agentName, limits: me.limits, renderThread: render.thread, self: () => self, conversationOf });

  const shortcuts = createShortcuts({
    rows: () => [...layout.inboxView.el.querySelectorAll('.convs .conv')].map((b) => Number(b.dataset.id)),
    openId: () => open()?.state.id ?? null,
    // The conversation's title takes the focus (not the reply box), so the next key is a shortcut.
    navigate: (id) => {
      nav.navigate(id);
      threadView.focusTitle();
    },
    compose: (mode) => {
      threadView.composer.setMode(mode);
      threadView.composer.focus();
    },
    act: (action, arg) => actions.act(action, arg),
    search: () => layout.inboxView.el.querySelector('#pd-search')?.focus(),
  });

  /** Which widgets this agent answers changed somewhere: follow their inbox channels now. */
  async function followWidgets() {
    try {
      const now = await api.me();
      if (stopped || !Array.isArray(now?.widgets)) return;
      realtime.setWidgets(now.widgets.filter((id) => Number.isSafeInteger(id)));
      inbox.refresh();
    } catch {
      /* a refused call signs out on its own; otherwise the next change or reload catches up */
    }
  }

  realtime = createRealtime({
    config: me.realtime || me,
    agentId: self?.id,
    widgets: Array.isArray(me.widgets) ? me.widgets.filter((id) => Number.isSafeInteger(id)) : [],
    api,
    options: options.realtime,
    handlers: {
      onStatus: (s) => {
        if (stopped) return;
        sync.setPolling(open() != null && !s.conversation);
        inboxPoller.setPolling(!s.agents);
        const state = s.provider === 'polling' ? 'polling' : s.agents ? 'live' : 'connecting';
        const detail = s.provider === 'polling' ? 'No real-time connection: checking every few seconds.' : s.provider ? 'Real-time via ' + s.provider : '';
        header.setConnection(navigator.onLine === false ? 'offline' : state, detail);
      },
      onAgentsSubscribed: () => {
        inbox.refresh();
        presence.refreshTeam();
      },
      onAgentsEvent: (name, data) => (name === 'WidgetsChanged' ? followWidgets() : incoming.onAgentsEvent(name, data)),
      onConversationSubscribed: (id) => {
        if (!threads.get(id)) return;
        sync.fill('subscribed');
      },
      onConversationEvent: incoming.onConversationEvent,
      onWhisper: incoming.onWhisper,
    },
  });

  // ---- start, stop --------------------------------------------------------------------------

  /** "Sign out": offline first (it needs the session), then the session ends on the server. */
  async function signOut() {
    const p = presence.signOut();
    stop();
    await p;
    await api.logout().catch(() => {});
    onEnd(null);
  }

  function end(reason) {
    if (stopped) return;
    stop();
    onEnd(reason);
  }

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
    inboxPoller.setPolling(false);
    render.stop();
    clearTimeout(searchTimer);
    typing.stop();
    threadView.stop();
    if (layout.sessionsView?.isOpen) layout.sessionsView.el.close();
    if (notifySettings?.el.open) notifySettings.el.close();
    shortcuts.stop();
    admin?.stop();
    reports.stop();
    actions.stop();
    for (const fn of cleanups.splice(0)) fn();
    if (window.ParleyDashboard?.__workspace === api) delete window.ParleyDashboard;
  }

  function start() {
    root.replaceChildren(layout.shell);
    root.removeAttribute('aria-busy');
    inbox.on('change', () => {
      render.inbox();
      incoming.waitingArrived();
    });
    header.setAgent(self);
    header.setConnection('connecting');
    presence.start(self);
    realtime.start();
    savedReplies.load();
    labels.load();
    layout.shell.append(shortcuts.help);
    shortcuts.start();
    inbox.refresh().then(() => {
      incoming.setBaseline();
      render.inbox();
    });
    listen(window, 'popstate', () => nav.route());
    listen(window, 'online', () => {
      layout.setBanner(null);
      outbox.kick();
      realtime.nudge();
      if (open()) sync.fill('online');
      inbox.refresh();
    });
    listen(window, 'offline', () => layout.setBanner('You are offline. Replies wait and go out when the network is back.'));
    listen(document, 'visibilitychange', () => {
      if (document.hidden) return;
      if (open()) sync.fill('visible');
      render.markRead();
      render.inbox();
    });
    const clock = setInterval(render.inbox, 30000); // relative times
    cleanups.push(() => clearInterval(clock));
    if (navigator.onLine === false) layout.setBanner('You are offline. Replies wait and go out when the network is back.');
    nav.route();
    render.inbox();
    render.team();
    // For debugging and the browser tests: a read-only view of what the dashboard holds.
    window.ParleyDashboard = {
      __workspace: api,
      get state() {
        const current = open();
        return {
          agent: self,
          signedInWith: credential.kind === 'session' ? 'password' : 'token',
          provider: realtime.provider,
          agentsLive: realtime.isLive('agents'),
          // The inbox's first listing has answered: conversations arriving now are news.
          inboxLoaded: incoming.hasBaseline(),
          conversationLive: realtime.isLive('conversation'),
          conversationId: current?.state.id ?? null,
          messages: (current?.state.messages || []).map((m) => ({ id: m.id, sender_type: m.sender_type, message: m.message, attachment_name: m.attachment_name, client_id: m.client_id, pending: !!m._pending })),
          tab: nav.tab,
        };
      },
      get echo() {
        return realtime.echo;
      },
    };
  }

  return { start, stop };
}
