// widget.js — owns wiring: it loads the widget's configuration, builds the UI, and connects the
// parts (session, store, outbox, sync, realtime, tabs, notifier) so that every way a message can
// arrive ends in store.merge() and every change of state ends in one render. It also decides the
// visitor-facing rules: what counts as unread, when to mark read, which message shows "Seen",
// what the header says (the mode by business hours and agents: availability.js), when to show
// typing dots, when to offer a person (under the bot's unsure answer), when to ask for a rating,
// and, away, when to ask for an email.

import { createApi, ApiError } from './api.js';
import { createHoursTimer, headerStatus as statusFor, modeOf, rereadAvailability, wantsEmail } from './availability.js';
import { createEmitter } from './emitter.js';
import { createTranslator, pickLocale } from './i18n.js';
import { readIdentity } from './identity.js';
import { createNotifier } from './notify.js';
import { createOutbox } from './outbox.js';
import { createRealtime } from './realtime.js';
import { createSession } from './session.js';
import { createStorage } from './storage.js';
import { createStore } from './store.js';
import { createSync } from './sync.js';
import { createTabs } from './tabs.js';
import { createComposer } from './ui/composer.js';
import { createAwayEmail } from './ui/away-email.js';
import { createPanel } from './ui/panel.js';
import { createPreChat, preChatForm } from './ui/prechat.js';
import { createRating } from './ui/rating.js';
import { TALK_TO_PERSON } from './ui/message.js';

const OTHERS = new Set(['bot', 'agent']);
/** How often the open widget says the visitor is still here (the server emails replies to visitors away). */
const HEARTBEAT_MS = 60000;

export function publicMessage(m) {
  const out = {};
  for (const [k, v] of Object.entries(m)) if (!k.startsWith('_')) out[k] = v;
  out.pending = !!m._pending;
  return out;
}

/** `preloaded.config`: a promise of the configuration the loader read (null: read it here). */
export function createWidget(options, preloaded = {}) {
  const events = createEmitter();
  const store = createStore();
  const state = store.state;
  const storage = createStorage(options.apiToken, options.widgetUrl);
  const given = {};
  if (options.visitorName) given.name = options.visitorName;
  if (options.visitorEmail) given.email = options.visitorEmail;
  let user = Object.assign({}, storage.user(), given);
  const identity = readIdentity(options);
  const session = createSession({ storage, user: () => user, pageUrl: location.href, userKey: identity?.key ?? null, locale: () => t.locale });
  let realtime = null;
  // Whether the server answers: false after a call got no answer, until one gets one.
  let reachable = true;
  const api = createApi({ baseUrl: options.widgetUrl, apiToken: options.apiToken, session: session.get, socketId: () => realtime?.socketId(), identity, onReach: (ok) => setReachable(ok) });
  const debug = options.debug !== false;

  let config = null;
  const browserLanguages = () => (navigator.languages?.length ? navigator.languages : [navigator.language]);
  let t = createTranslator(pickLocale(options.locale, null, browserLanguages()), options.strings);
  let panel, outbox, sync, tabs, notifier, composer, rating, prechat, awayEmail, hoursTimer;
  let form = null; // the widget's pre-chat form, when it asks one
  const rated = { sending: false, done: false }; // this page's own rating of the conversation
  let wantOpen = false;
  let stopped = false;
  let typingTimer = null;
  const whisper = { last: 0, sent: false, timer: null, want: false };
  let readTimer = null;
  let shownRating = null;
  let shownAwayEmail = false;
  let bannerTimer = null;
  let proactiveTimer = null;
  let heartbeatTimer = null;

  // ---- unread, read receipts, "Seen" -------------------------------------------------------

  const visible = () => !!panel?.isOpen() && !document.hidden;

  function unreadCount() {
    const read = state.readStates.visitor || 0;
    return state.messages.filter((m) => m.id != null && OTHERS.has(m.sender_type) && m.id > read).length;
  }

  function markRead() {
    if (!visible() || session.id() == null) return;
    const read = state.readStates.visitor || 0;
    let lastOther = 0;
    for (const m of state.messages) if (m.id > lastOther && OTHERS.has(m.sender_type)) lastOther = m.id;
    if (lastOther <= read) return;
    const last = store.highestId();
    store.applyReadState({ reader: 'visitor', last_read_id: last });
    tabs.post('read', { last_read_id: last, conversationId: session.id() });
    clearTimeout(readTimer);
    const id = session.id();
    readTimer = setTimeout(() => api.markRead(id, last).catch(() => {}), 300); // a burst of messages, one request
  }

  function seenId() {
    let theirs = 0;
    for (const [reader, id] of Object.entries(state.readStates)) if (reader !== 'visitor' && id > theirs) theirs = id;
    let seen = null;
    for (const m of state.messages) if (m.id != null && m.sender_type === 'visitor' && m.id <= theirs) seen = m.id;
    return seen;
  }

  /** The widget's mode (live, bot, away): the business hours and whether an agent is online. */
  const widgetMode = () => modeOf(state.availability, state.agentsOnline);

  /** The header's line and its dot; the dot is lit while a human agent is online. */
  function headerStatus() {
    if (!reachable) return [t('reconnecting'), false];
    return statusFor(t, state.conversation, widgetMode(), state.availability);
  }

  /**
   * The server stopped (or started again) answering: "Reconnecting…" in the banner and the
   * header while it is gone, rather than a header that still promises answers; the outbox and
   * polling keep trying meanwhile.
   */
  function setReachable(ok) {
    if (ok === reachable) return;
    reachable = ok;
    if (!panel) return;
    if (!ok) banner(t('reconnecting'));
    else banner(navigator.onLine === false ? t('offline') : null);
    render();
  }

  /** Leaves the visitor's email for the reply; resolves to true, or what to tell them. */
  function leaveEmail(email) {
    const id = session.id();
    return api.leaveEmail(id, email).then(
      (res) => {
        if (session.id() === id) store.setConversation(res?.conversation);
        events.emit('email', { conversation_id: id, email });
        return true;
      },
      (error) => (error instanceof ApiError && error.status === 422 ? error.message : false),
    );
  }

  /** Away and handed over without an address: the form at the thread's end, focused once. */
  function renderAwayEmail() {
    const ask = wantsEmail(state.conversation, widgetMode(), state.availability);
    const next = ask ? 'ask' : awayEmail.mode() === 'thanks' ? 'thanks' : null;
    if (awayEmail.set(next)) composer.focus();
    if (next === 'ask' && !shownAwayEmail) {
      shownAwayEmail = true;
      panel.stickToBottom(true);
      if (panel.isOpen()) {
        panel.announce(t('awayEmailIntro'));
        awayEmail.focus();
      }
    }
  }

  /**
   * The rating prompt while a closed conversation has no rating; "thanks" once this page rated
   * it; neither once an agent reopened the conversation (the chat goes on).
   */
  function ratingMode() {
    const closed = state.conversation?.status === 'closed';
    if (rated.done) return closed ? 'thanks' : null;
    return rated.sending || (closed && state.rating === null) ? 'prompt' : null;
  }

  /** Sends the visitor's rating; resolves to false when it should be tried again. */
  function rate(score, comment) {
    const id = session.id();
    rated.sending = true;
    const finish = (r) => {
      rated.sending = false;
      if (session.id() === id && r !== false) {
        rated.done = true;
        panel.announce(t('rateThanks'));
        if (r) {
          store.setRating(r);
          events.emit('rated', { conversation_id: id, score: r.score, comment: r.comment ?? null, created_at: r.created_at ?? null });
        } else sync.fill('rated'); // 409: rated already (another tab or device); fetch it
      }
      store.touch();
      return r !== false;
    };
    return api.rate(id, score, comment || null).then(
      (res) => finish(res?.rating || { score, comment: comment || null }),
      (error) => finish(error instanceof ApiError && error.status === 409 ? null : false),
    );
  }

  // ---- a person, offered ----------------------------------------------------------------------

  /** The bot's latest message, when it was unsure and nothing came after it: a person is offered under it. */
  function offerId() {
    const status = state.conversation?.status;
    if (status && status !== 'bot') return null;
    const last = state.messages[state.messages.length - 1];
    return last && last.id != null && last.sender_type === 'bot' && last.offers_human ? last.id : null;
  }

  /** "Talk to a person": the bot hands the conversation to the team (the message every bot knows). */
  function talkToPerson() {
    outbox.sendText(TALK_TO_PERSON);
    panel.stickToBottom(true);
    composer.focus();
  }

  // ---- rendering ----------------------------------------------------------------------------

  function render() {
    if (!panel) return;
    panel.renderMessages(state.messages, {
      t,
      url: api.url,
      reactions: state.reactions,
      seenId: seenId(),
      onReact: react,
      onRetry: (id) => outbox.retry(id),
      onDiscard: (id) => outbox.discard(id),
      onMediaLoad: () => panel.stickToBottom(),
      offerId: offerId(),
      onTalkToPerson: talkToPerson,
    });
    const unread = panel.isOpen() && !document.hidden ? 0 : unreadCount();
    if (unread !== state.unread) {
      state.unread = unread;
      events.emit('unread', unread);
    }
    panel.setUnread(unread);
    panel.setStatus(...headerStatus());
    panel.host.setAttribute('data-mode', widgetMode());
    renderAwayEmail();
    const mode = ratingMode();
    if (mode !== shownRating) {
      shownRating = mode;
      if (rating.set(mode)) composer.focus();
      if (mode) panel.stickToBottom(true);
      if (mode === 'prompt' && panel.isOpen()) panel.announce(t('rateQuestion'));
    }
  }

  function banner(text, ms) {
    panel?.setBanner(text);
    clearTimeout(bannerTimer);
    if (text && ms) bannerTimer = setTimeout(() => panel?.setBanner(null), ms);
  }

  // ---- incoming -------------------------------------------------------------------------------

  function incoming(fresh, { live = true, share = true } = {}) {
    if (!fresh.length) return;
    let alerts = 0;
    for (const m of fresh) {
      if (OTHERS.has(m.sender_type)) {
        setTyping(null);
        if (live) {
          alerts++;
          if (panel.isOpen()) panel.announce(t('newMessageFrom', { name: m.sender_name || t(m.sender_type), text: m.message || m.attachment_name || '' }));
        }
      }
      events.emit('message', publicMessage(m), { live });
    }
    if (share && live) tabs.post('messages', { messages: fresh.map(publicMessage), conversationId: session.id() });
    markRead();
    if (alerts && !visible()) notifier.alert(unreadCount());
  }

  function react(m, emoji, on) {
    const before = state.reactions[m.id] || [];
    // Optimistic: show it now, then take the server's grouping (or roll back on failure).
    let list = before.map((r) => Object.assign({}, r, { reactors: [...(r.reactors || [])] }));
    let entry = list.find((r) => r.emoji === emoji);
    if (on && !entry) list.push((entry = { emoji, count: 0, reactors: [] }));
    if (entry && on !== entry.reactors.includes('visitor')) {
      entry.reactors = on ? [...entry.reactors, 'visitor'] : entry.reactors.filter((r) => r !== 'visitor');
      entry.count = Math.max(0, entry.count + (on ? 1 : -1));
    }
    list = list.filter((r) => r.count > 0);
    store.setReactions(m.id, list);
    api.react(session.id(), m.id, emoji, on).then(
      (res) => res?.reactions && store.setReactions(m.id, res.reactions.reactions),
      () => store.setReactions(m.id, before),
    );
  }

  function setTyping(e) {
    clearTimeout(typingTimer);
    if (!e || !e.typing) return panel?.setTyping(null);
    const name = e.name || (e.sender_type === 'bot' ? config?.widget?.bot_name || t('bot') : t('agent'));
    panel.setTyping(t('typing', { name }));
    // Typing stops silently when a tab closes: expire it.
    typingTimer = setTimeout(() => panel.setTyping(null), e.sender_type === 'bot' ? 20000 : 6000);
  }

  /** The visitor's typing, as whispers throttled to at most one per 2 s (the latest value wins). */
  function visitorTyping(on) {
    whisper.want = on;
    if (whisper.timer) return;
    const wait = whisper.last + 2000 - Date.now();
    if (wait > 0) whisper.timer = setTimeout(flushTyping, wait);
    else flushTyping();
  }

  function flushTyping() {
    whisper.timer = null;
    if (!whisper.want && !whisper.sent) return; // nothing to take back
    whisper.last = Date.now();
    whisper.sent = whisper.want;
    realtime?.whisperTyping(whisper.want);
  }

  // ---- pre-chat form --------------------------------------------------------------------------

  /** The form shows until a conversation exists, unless the site signed who the visitor is and named them. */
  function needsForm() {
    return !!form && session.id() == null && !(identity && (identity.name || user.name));
  }

  function showForm() {
    const on = needsForm();
    if (on) prechat.show(form, { name: user.name, email: user.email });
    else prechat.hide();
    panel.setPreChat(on);
  }

  /** Starts the conversation with the form's answers; resolves to what to tell the visitor, or null. */
  function startFromForm(answers) {
    return session.ensure(api, answers).then(
      () => {
        showForm();
        return null;
      },
      (error) => (error instanceof ApiError && error.status === 422 ? error.message : true),
    );
  }

  // ---- conversation lifecycle ---------------------------------------------------------------

  function follow(s) {
    const id = s?.conversationId ?? null;
    store.reset(id);
    Object.assign(rated, { sending: false, done: false });
    shownAwayEmail = false;
    awayEmail?.set(null);
    setTyping(null);
    realtime.setConversation(id);
    sync.setPolling(id != null && !state.realtimeConnected);
    if (id != null) sync.fill('initial');
    // A page opened on a conversation: agents see where the visitor is now.
    if (id != null && !document.hidden) api.seen(id, location.href).catch(() => {});
    showForm();
  }

  function wire() {
    sync = createSync({
      api,
      store,
      session,
      intervalMs: Number(config.polling?.interval_ms) || 2000,
      onFetched: (fresh, reason) => {
        incoming(fresh, { live: reason !== 'initial' });
        if (panel.isOpen()) markRead();
        if (reason === 'poll' || reason === 'online') banner(null);
      },
      onGone: (id) => session.forget(id),
      onUnauthorized: (error) => console.error('[chatbot] the widget token was refused:', error.message),
    });
    outbox = createOutbox({
      api,
      store,
      session,
      storage,
      t,
      maxBytes: Number(config.limits?.max_upload_bytes) || undefined,
      onSent: (message) => {
        events.emit('message', publicMessage(message), { live: true });
        tabs.post('messages', { messages: [message], conversationId: session.id() });
      },
      onError: (text) => text && banner(text, 8000),
    });
    realtime = createRealtime({
      config,
      api,
      store,
      debug,
      options: options.realtime,
      handlers: {
        onStatus: (connected) => {
          sync.setPolling(!connected && session.id() != null);
          events.emit('realtime', { connected, provider: state.realtimeProvider });
        },
        onSubscribed: () => sync.fill('subscribed'),
        // `truncated`: too large for an event, so only its id came; the catch-up fetches it.
        onMessage: (m) => (m?.truncated ? sync.fill('truncated') : incoming(store.merge([m]))),
        onRead: (e) => store.applyReadState(e),
        onReactions: (e) => e && (e.truncated ? sync.fill('truncated') : store.setReactions(e.message_id, e.reactions)),
        onConversation: (e) => e && Number(e.id) === session.id() && (e.truncated ? sync.fill('truncated') : store.setConversation(e, { live: true })),
        onTyping: setTyping,
        onAvailability: (e) => store.setAgentsOnline(e?.agents_online, { live: true }),
        onRated: (e) => store.setRating(e),
        // An admin erased this conversation (or the widget's retention did): start afresh.
        onErased: (e) => {
          if (Number(e?.conversation_id) !== session.id()) return;
          session.forget(session.id());
          banner(t('erased'), 10000);
        },
      },
    });
    tabs = createTabs(storage);
    tabs.on('session', ({ session: s }) => session.adopt(s));
    tabs.on('messages', (d) => d.conversationId === session.id() && incoming(store.merge(d.messages), { share: false }));
    tabs.on('read', (d) => {
      if (d.conversationId !== session.id()) return;
      store.applyReadState({ reader: 'visitor', last_read_id: d.last_read_id });
      notifier.restore();
    });
    session.on('change', follow);
    store.on('change', render);
    // Our pending message came back stored (from any route, any tab): stop resending it.
    store.on('confirmed', (m) => outbox.acknowledged(m.client_id));

    document.addEventListener('visibilitychange', () => {
      if (document.hidden) return;
      if (session.id() != null) sync.fill('visible');
      markRead();
      render();
    });
    window.addEventListener('online', () => {
      banner(null);
      outbox.kick();
      realtime.nudge();
      if (session.id() != null) sync.fill('online');
    });
    window.addEventListener('offline', () => banner(t('offline')));
  }

  // ---- proactive greeting ------------------------------------------------------------------

  /** A simple glob against the page's path: `*` is any run of characters; none: every page. */
  function pathMatches(pattern) {
    if (typeof pattern !== 'string' || !pattern.trim()) return true;
    const re = pattern.trim().split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*');
    return new RegExp('^' + re + '$').test(location.pathname);
  }

  /** Shown or dismissed today already (once per visitor per day). */
  function proactiveToday() {
    const at = storage.proactive();
    return !!at && new Date(at).toDateString() === new Date().toDateString();
  }

  /** Closed chat, no conversation in this browser, a matching page, not yet today: after the delay, the bubble. */
  function scheduleProactive(p) {
    if (options.proactive === false || !p || typeof p !== 'object' || typeof p.message !== 'string' || !p.message.trim()) return;
    if (!pathMatches(p.url_pattern)) return;
    const eligible = () => !stopped && !panel.isOpen() && session.id() == null && !proactiveToday();
    if (!eligible()) return;
    const secs = Number(p.delay_secs);
    const delay = Number.isFinite(secs) && secs >= 0 ? secs : 10;
    proactiveTimer = setTimeout(() => {
      if (!eligible()) return;
      const message = p.message.trim();
      storage.setProactive(Date.now());
      panel.showNudge(message, { onDismiss: () => storage.setProactive(Date.now()) });
      events.emit('proactive', { message });
    }, delay * 1000);
  }

  // ---- email: the mailed link, the heartbeat ------------------------------------------------

  /** `#parley_reopen={id}.{expires}.{signature}` in the page's address: a mailed link. */
  function reopenKey() {
    const match = /(?:^#|&)parley_reopen=([0-9]+\.[0-9]+\.[0-9a-f]+)/.exec(location.hash);
    return match ? match[1] : null;
  }

  /** Trades a mailed link's key for this conversation's visitor token, then opens it. */
  async function reopenFromLink(key) {
    // The key leaves the address bar at once (bookmarks, screenshots, the next link shared).
    const rest = location.hash.replace(/(^#|&)parley_reopen=[^&]*/, '$1').replace(/^#&?$/, '');
    history.replaceState(history.state, '', location.pathname + location.search + rest);
    const id = Number(key.split('.')[0]);
    try {
      const res = await api.resume(id, key);
      if (typeof res?.visitor_token !== 'string') throw new Error('bad answer');
      session.resume(id, res.visitor_token);
      wantOpen = true;
      events.emit('reopened', { conversation_id: id });
    } catch (error) {
      console.warn('[chatbot] the link to the conversation did not work:', error?.message || error);
    }
  }

  /** Every 60 s while the page is visible: the visitor is connected, and on this page (see the README). */
  function heartbeat() {
    heartbeatTimer = setInterval(() => {
      const id = session.id();
      if (id != null && !document.hidden && !stopped) api.seen(id, location.href).catch(() => {});
    }, HEARTBEAT_MS);
  }

  // ---- start-up -----------------------------------------------------------------------------

  async function loadConfig() {
    const given = await preloaded.config?.catch(() => null);
    if (given) return given;
    for (let attempt = 0; !stopped; attempt++) {
      try {
        const res = await api.config();
        if (res && res.success !== false) return res;
      } catch (error) {
        if (error instanceof ApiError && !error.retryable) {
          console.error('[chatbot] the server refused the widget (' + error.status + ' ' + error.code + '): ' + error.message);
          return null;
        }
      }
      await new Promise((r) => setTimeout(r, Math.min(60000, 2000 * 2 ** attempt)));
    }
    return null;
  }

  async function start() {
    config = await loadConfig();
    if (!config || stopped) return;
    const key = reopenKey();
    if (key) await reopenFromLink(key);
    store.setAgentsOnline(config.agents_online);
    store.setAvailability(config.availability);
    const settings = config.widget?.settings || {};
    t = createTranslator(pickLocale(options.locale, settings.locale, browserLanguages()), settings.strings, options.strings);
    notifier = createNotifier({ t, sound: settings.sound !== false && options.sound !== false });
    composer = createComposer({
      t,
      limits: config.limits,
      onSend: (text) => {
        outbox.sendText(text);
        panel.stickToBottom(true);
      },
      onFile: (file) => outbox.sendFile(file),
      onVoice: (file) => outbox.sendFile(file, { isVoice: true, fileName: file.name }),
      onTyping: visitorTyping,
      onError: (text) => banner(text, 8000),
    });
    rating = createRating({ t, onSubmit: rate });
    awayEmail = createAwayEmail({ t, onSubmit: leaveEmail, onDone: () => composer.focus() });
    form = preChatForm(settings);
    prechat = createPreChat({ t, onSubmit: startFromForm });
    panel = createPanel({
      t,
      composer,
      prechat,
      tail: [awayEmail.el, rating.el],
      onOpenChange: (open) => {
        events.emit(open ? 'open' : 'close');
        if (open) {
          clearTimeout(proactiveTimer);
          notifier.restore();
          markRead();
          // Before a conversation exists nothing pushes availability to this visitor: ask again.
          if (session.id() == null) rereadAvailability({ api, store }).catch(() => {});
        }
        render();
      },
    });
    // What visitors call the widget (its display name, else the site's); never its internal name.
    panel.applySettings({ name: config.widget?.display_name, settings });
    panel.setGreeting(settings.greeting, config.widget?.bot_name || config.widget?.display_name);
    wire();
    hoursTimer = createHoursTimer({ api, store });
    hoursTimer.schedule(state.availability);
    panel.mount();
    if (navigator.onLine === false) banner(t('offline'));
    heartbeat();
    const existing = session.get();
    if (existing) follow(existing);
    else showForm();
    // A signed-in visitor may have an open conversation from another device: take it up.
    if (identity && !existing) {
      api.conversations().then(
        (res) => {
          const open = (res?.conversations || []).find((c) => c && c.status !== 'closed');
          if (open) session.takeUp(Number(open.id));
        },
        (error) => console.error('[chatbot] the user token was refused (' + (error?.code || error?.status) + '): ' + (error?.message || '')),
      );
    }
    outbox.restore();
    render();
    events.emit('ready');
    if (wantOpen) panel.setOpen(true, { focus: false });
    scheduleProactive(settings.proactive);
  }

  return {
    state,
    events,
    start,
    open() {
      wantOpen = true;
      panel?.setOpen(true);
    },
    close() {
      wantOpen = false;
      panel?.setOpen(false);
    },
    toggle() {
      if (panel) panel.setOpen(!panel.isOpen());
      else wantOpen = !wantOpen;
    },
    setUser(next) {
      if (!next || typeof next !== 'object') return;
      user = Object.assign({}, user);
      if (typeof next.name === 'string') user.name = next.name;
      if (typeof next.email === 'string') user.email = next.email;
      storage.setUser(user);
    },
    /** Emails the conversation so far to the visitor (when the server sends email and the
     * conversation has an address); resolves to the server's answer, rejects with its error. */
    transcript() {
      const id = session.id();
      if (id == null) return Promise.reject(new Error('no conversation yet'));
      return api.transcript(id);
    },
    get echo() {
      return realtime?.echo ?? null;
    },
    destroy() {
      // The conversation stays in storage, so the next page resumes it.
      stopped = true;
      clearTimeout(proactiveTimer);
      clearInterval(heartbeatTimer);
      hoursTimer?.stop();
      panel?.unmount();
    },
  };
}
