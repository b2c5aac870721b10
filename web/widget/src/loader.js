// loader.js — the script a page loads (`/chatbot-widget.js`, a few KB): all a visitor's browser
// fetches of the widget until it is needed. It reads window.ChatbotConfig and the widget's
// configuration (one small JSON request, which the full widget then reuses), draws the launcher
// exactly as the full widget draws it (the same styles, taken from ui/styles.js at build time, the
// same icon, accessible name and keyboard use), and turns window.ChatbotWidget into an API that
// queues its calls. The rest (the UI, laravel-echo, pusher-js: `chatbot-widget/app.<hash>.js`,
// cached for a year) is fetched when:
//   - the visitor presses the launcher, or the page calls open(), toggle(), transcript() or load();
//   - a conversation exists in this browser (kept in localStorage, or started in another tab
//     while this page is open), or messages wait to be sent;
//   - the page's address carries a mailed link (#parley_reopen=…);
//   - a signed-in visitor (ChatbotConfig.userToken, or userId + userHash) has an open
//     conversation on the server, or the server does not take their credential (the widget says why);
//   - the proactive greeting is due (the widget's settings.proactive, as the full widget decides it).
// The full widget (index.js) then takes over this API object in place, replays the queued calls
// in order, and swaps its launcher for this one in the same task, so nothing moves or flickers.

import { createStorage } from './storage.js';
import { modeOf } from './availability.js';
import { icon } from './ui/icons.js';
import { createHost, applyHostSettings } from './ui/host.js';
import { onceReleased } from './release.js';
// Made by build.mjs: the launcher's rules of ui/styles.js, each language's "Open chat", and the
// full widget's file name (content-hashed).
import { APP, CSS, LABELS, RTL } from 'parley:loader';

// eslint-disable-next-line no-undef -- replaced by the bundler with the widget's version
const VERSION = typeof __WIDGET_VERSION__ === 'string' ? __WIDGET_VERSION__ : 'dev';
/** What the page may call before the full widget is here (the pre-load stub's names, and more). */
const METHODS = ['open', 'close', 'toggle', 'setUser', 'on', 'transcript', 'load'];
/** Calls that need the full widget at once. */
const NEEDS_APP = ['open', 'toggle', 'transcript', 'load'];
const TIMEOUT_MS = 20000;

// Read now: document.currentScript is only set while the script first runs.
const SCRIPT = document.currentScript;

function boot() {
  const existing = window.ChatbotWidget;
  if (existing && existing.__parley) return; // the script is on the page twice
  const options = Object.assign({}, window.ChatbotConfig || {});
  let scriptUrl = null;
  try {
    scriptUrl = SCRIPT?.src ? new URL(SCRIPT.src) : null;
  } catch {
    /* no usable address: widgetUrl is the base */
  }
  // The server that served this script is the default API base (widgetUrl may be omitted).
  const widgetUrl = String(options.widgetUrl || scriptUrl?.origin || '').replace(/\/+$/, '');
  const api = existing && typeof existing === 'object' ? existing : {};
  const queue = [];
  for (const call of Array.isArray(api.q) ? api.q.splice(0) : []) {
    if (Array.isArray(call) && METHODS.includes(call[0])) queue.push([call[0], Array.from(call[1] || [])]);
  }
  delete api.q;

  if (!options.apiToken || /^__PARLEY_/.test(options.apiToken) || !/^https?:\/\//.test(widgetUrl)) {
    console.error('[chatbot] window.ChatbotConfig needs apiToken and widgetUrl (http or https); the widget is not started.');
    return;
  }
  options.widgetUrl = widgetUrl;

  const storage = createStorage(options.apiToken, widgetUrl);
  // The full widget's file sits beside this script (wherever it was served from).
  const appUrl = new URL(APP, scriptUrl || widgetUrl + '/').href;
  let appScript = null;
  let proactiveTimer = null;

  /** What index.js reads when it takes over (fields change as the page goes on). */
  const loader = {
    options,
    queue,
    taken: false, // set by the full widget
    host: null, // the launcher's element, once drawn
    clicked: false, // the visitor pressed the launcher: the full widget opens focused
    pressed: false, // a pointer went down on the launcher and is not yet released
    open: null, // the full widget's open(), once it has taken over
    readyFired: false, // 'ready' was emitted to the page already
    proactiveAt: 0, // when the proactive greeting is due (ms since the epoch), when scheduled
    config: null, // a promise of GET /api/chatbot/config's answer (null when refused)
    stop() {
      clearTimeout(proactiveTimer);
      window.removeEventListener('storage', onStorage);
    },
  };

  function load() {
    if (appScript || loader.taken) return;
    appScript = document.createElement('script');
    appScript.src = appUrl;
    appScript.async = true;
    if (SCRIPT?.nonce) appScript.nonce = SCRIPT.nonce; // a page's CSP nonce covers it too
    appScript.onerror = () => {
      console.error('[chatbot] could not load ' + appUrl + '; pressing the launcher tries again.');
      appScript.remove();
      appScript = null;
    };
    (document.head || document.documentElement).append(appScript);
  }

  const call = (method) =>
    function () {
      queue.push([method, Array.from(arguments)]);
      if (NEEDS_APP.includes(method)) load();
    };
  // A promise of the full widget's answer to the call, once it is here.
  const later = (method) => () =>
    new Promise((resolve, reject) => {
      queue.push([method, [], { resolve, reject }]);
      load();
    });
  const session = storage.session();
  Object.assign(api, {
    __parley: VERSION,
    version: VERSION,
    /** Whether the full widget is here (false: only this loader, calls are queued). */
    loaded: false,
    open: call('open'),
    close: call('close'),
    toggle: call('toggle'),
    setUser: call('setUser'),
    /** Fetches the rest of the widget now (it comes by itself when needed); resolves once it is drawn. */
    load: later('load'),
    transcript: later('transcript'),
    on(event, fn) {
      const hook = {};
      queue.push(['on', [event, fn], hook]);
      return () => (hook.off ? hook.off() : (hook.cancelled = true));
    },
    // The seed's debugging shape, as it stands until the full widget is here.
    state: {
      conversationId: session?.conversationId ?? null,
      conversation: null,
      messages: [],
      realtimeConnected: false,
      realtimeProvider: null,
      agentsOnline: null,
      availability: null,
      channelSubscription: null,
      unread: 0,
      reactions: {},
      readStates: {},
      rating: undefined,
    },
  });
  Object.defineProperty(api, 'echo', { get: () => null, configurable: true, enumerable: false });
  Object.defineProperty(api, '__parleyLoader', { value: loader, configurable: true, enumerable: false });
  window.ChatbotWidget = api;

  // ---- what needs the full widget at once ------------------------------------------------------

  function onStorage(event) {
    // Another tab started a conversation: this one follows it live.
    if (event.key === storage.keys.session && event.newValue) load();
  }
  window.addEventListener('storage', onStorage);
  if (session || storage.outbox().length || /(?:^#|&)parley_reopen=/.test(location.hash) || queue.some(([m]) => NEEDS_APP.includes(m))) load();

  const headers = { Authorization: 'Bearer ' + options.apiToken, Accept: 'application/json' };
  function get(path, more) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), TIMEOUT_MS);
    return fetch(widgetUrl + path, { headers: Object.assign({}, headers, more), credentials: 'omit', signal: controller.signal }).finally(() =>
      clearTimeout(timer),
    );
  }

  // A signed-in visitor may have an open conversation from another device.
  const userToken = typeof options.userToken === 'string' ? options.userToken.trim() : '';
  const userId = options.userId == null ? '' : String(options.userId).trim();
  const userHash = typeof options.userHash === 'string' ? options.userHash.trim() : '';
  const identity = userToken ? { 'X-User-Token': userToken } : userId && userHash ? { 'X-User-Id': userId, 'X-User-Hash': userHash } : null;
  if (identity && !session) {
    get('/api/chatbot/conversations', identity)
      .then((res) => (res.ok ? res.json() : null))
      .then(
        (body) => (!body || (body.conversations || []).some((c) => c && c.status !== 'closed')) && load(),
        () => load(),
      );
  }

  // ---- the configuration, then the launcher ----------------------------------------------------

  async function readConfig() {
    for (let attempt = 0; !loader.taken; attempt++) {
      try {
        const res = await get('/api/chatbot/config');
        const body = await res.json().catch(() => null);
        if (res.ok && body && body.success !== false) return body;
        const status = res.status;
        if (status !== 408 && status !== 425 && status !== 429 && status < 500) {
          const code = body?.error?.code || 'http_' + status;
          console.error('[chatbot] the server refused the widget (' + status + ' ' + code + '): ' + (body?.error?.message || code));
          return null;
        }
      } catch {
        /* no answer: try again */
      }
      await new Promise((r) => setTimeout(r, Math.min(60000, 2000 * 2 ** attempt)));
    }
    return null;
  }
  loader.config = readConfig();
  loader.config.then((config) => {
    if (!config || loader.taken) return;
    api.state.availability = config.availability ?? null;
    api.state.agentsOnline = config.agents_online ?? null;
    draw(config);
    loader.readyFired = true;
    for (const [method, args, hook] of queue) {
      if (method !== 'on' || args[0] !== 'ready' || hook?.cancelled || typeof args[1] !== 'function') continue;
      try {
        args[1]();
      } catch (error) {
        console.error('[chatbot] listener for "ready" failed:', error);
      }
    }
    scheduleProactive(config.widget?.settings?.proactive);
  });

  /** The launcher, as ui/panel.js draws it with the same settings. */
  function draw(config) {
    const settings = config.widget?.settings || {};
    const languages = navigator.languages?.length ? navigator.languages : [navigator.language];
    const locale = [options.locale, settings.locale, ...languages].map(supported).find(Boolean) || 'en';
    const text = (o) => (o && typeof o.openChat === 'string' ? o.openChat : null);
    const label = text(options.strings) ?? text(settings.strings) ?? LABELS[locale];

    const { host, root } = createHost(CSS);
    applyHostSettings(host, settings);
    host.setAttribute('data-mode', modeOf(config.availability, config.agents_online));

    const launcher = document.createElement('button');
    launcher.type = 'button';
    launcher.className = 'launcher';
    launcher.setAttribute('aria-expanded', 'false');
    launcher.setAttribute('aria-label', label);
    const badge = document.createElement('span');
    badge.className = 'badge';
    badge.hidden = true;
    badge.setAttribute('aria-hidden', 'true');
    launcher.append(icon('chat'), badge);
    // Pressing starts the fetch; the click (mouse, touch, Enter, Space) asks for the chat open.
    // The full widget may take over between the two (a fast network, a long press): index.js
    // then opens on the release (`pressed`), or on a click the browser still gives this button
    // (`open`, set by index.js).
    launcher.addEventListener('pointerdown', () => {
      loader.pressed = true;
      onceReleased(() => (loader.pressed = false));
      load();
    });
    launcher.addEventListener('click', () => {
      if (loader.open) return loader.open();
      loader.clicked = true;
      load();
    });
    const frame = document.createElement('div');
    frame.className = 'frame';
    frame.dir = RTL.includes(locale) ? 'rtl' : 'ltr';
    frame.lang = locale;
    frame.append(launcher);
    root.append(frame);
    loader.host = host;
    (document.body || document.documentElement).append(host);
  }

  /** The full widget's rule (widget.js): closed chat, no conversation, a matching page, not yet today. */
  function scheduleProactive(p) {
    if (options.proactive === false || !p || typeof p !== 'object' || typeof p.message !== 'string' || !p.message.trim()) return;
    const pattern = typeof p.url_pattern === 'string' ? p.url_pattern.trim() : '';
    const re = pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*');
    if (pattern && !new RegExp('^' + re + '$').test(location.pathname)) return;
    const today = () => {
      const at = storage.proactive();
      return !!at && new Date(at).toDateString() === new Date().toDateString();
    };
    if (storage.session() || today()) return;
    const secs = Number(p.delay_secs);
    const delay = (Number.isFinite(secs) && secs >= 0 ? secs : 10) * 1000;
    loader.proactiveAt = Date.now() + delay;
    proactiveTimer = setTimeout(() => storage.session() || today() || load(), delay);
  }
}

/** 'pt-BR' → 'pt' when the widget speaks it (i18n.js's rule), else null. */
function supported(tag) {
  if (typeof tag !== 'string') return null;
  const base = tag.trim().toLowerCase().split(/[-_]/)[0];
  return Object.prototype.hasOwnProperty.call(LABELS, base) ? base : null;
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', boot, { once: true });
else boot();
