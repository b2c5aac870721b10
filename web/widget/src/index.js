// index.js — the full widget's entry (`chatbot-widget/app.<hash>.js`). The page loads the loader
// (loader.js, `/chatbot-widget.js`), which fetches this file when the widget is needed and leaves
// behind window.ChatbotWidget with the calls it queued, its launcher and the configuration it
// read. This turns that object into the real API in place (references the page kept stay valid),
// replays the queued calls in order, reuses the configuration, and swaps in its own launcher in
// the same task as it draws it, handing on the focus. Loaded on its own (no loader), it reads
// window.ChatbotConfig and the pre-load stub a page may inline before the script tag (see
// widget/README.md) the same way:
//
//   window.ChatbotWidget = window.ChatbotWidget || (function () { var w = { q: [] };
//     ['open','close','toggle','setUser','on'].forEach(function (m) {
//       w[m] = function () { w.q.push([m, [].slice.call(arguments)]); }; }); return w; })();

import { createWidget } from './widget.js';
import { onceReleased } from './release.js';

// eslint-disable-next-line no-undef -- replaced by the bundler with package.json's version
const VERSION = typeof __WIDGET_VERSION__ === 'string' ? __WIDGET_VERSION__ : 'dev';
const METHODS = ['open', 'close', 'toggle', 'setUser', 'on', 'transcript', 'load'];

function scriptOrigin() {
  // The server that served this script is the default API base (widgetUrl may be omitted).
  try {
    const src = document.currentScript?.src;
    return src ? new URL(src).origin : null;
  } catch {
    return null;
  }
}

// Read now: document.currentScript is only set while the script first runs.
const SCRIPT_ORIGIN = scriptOrigin();

function boot() {
  const existing = window.ChatbotWidget;
  const loader = existing?.__parleyLoader;
  if (existing && existing.__parley && (!loader || loader.taken)) return; // the script is on the page twice
  if (loader) {
    loader.taken = true;
    loader.stop();
  }
  const cfg = loader ? loader.options : Object.assign({}, window.ChatbotConfig || {});
  const widgetUrl = String(cfg.widgetUrl || SCRIPT_ORIGIN || '').replace(/\/+$/, '');
  const api = existing && typeof existing === 'object' ? existing : {};
  const queued = loader ? loader.queue.splice(0) : Array.isArray(api.q) ? api.q.splice(0) : [];

  if (!cfg.apiToken || /^__PARLEY_/.test(cfg.apiToken) || !/^https?:\/\//.test(widgetUrl)) {
    console.error('[chatbot] window.ChatbotConfig needs apiToken and widgetUrl (http or https); the widget is not started.');
    return;
  }

  // The loader's configuration, with the proactive greeting's delay counted from when the loader
  // scheduled it (due now when that is why this file was fetched).
  const config = loader?.config?.then((c) => {
    const p = c?.widget?.settings?.proactive;
    if (p && typeof p === 'object' && loader.proactiveAt) c.widget.settings.proactive = Object.assign({}, p, { delay_secs: Math.max(0, (loader.proactiveAt - Date.now()) / 1000) });
    return c;
  });
  const widget = createWidget(Object.assign(cfg, { widgetUrl }), { config });
  Object.assign(api, {
    __parley: VERSION,
    version: VERSION,
    loaded: true,
    open: () => widget.open(),
    close: () => widget.close(),
    toggle: () => widget.toggle(),
    setUser: (user) => widget.setUser(user),
    /** Emails the conversation to the visitor's address: a promise of the server's answer. */
    transcript: () => widget.transcript(),
    /** on('message'|'open'|'close'|'unread'|'ready'|'realtime'|'rated'|'proactive'|'reopened'|'email', fn) → unsubscribe function */
    on: (event, fn) => widget.events.on(event, fn),
    /** Here already; resolves once the widget is drawn. */
    load: () => ready,
    state: widget.state,
  });
  Object.defineProperty(api, 'echo', { get: () => widget.echo, configurable: true, enumerable: false });
  delete api.q;
  window.ChatbotWidget = api;

  // First of the 'ready' listeners: the loader's launcher goes in the task that drew this one.
  if (loader) widget.events.on('ready', () => takeOver(loader, widget));
  const ready = new Promise((resolve) => widget.events.on('ready', () => resolve()));

  for (const call of queued) {
    const [method, args, hook] = Array.isArray(call) ? call : [];
    if (!METHODS.includes(method)) continue;
    const list = args ? Array.from(args) : [];
    if (method === 'on') {
      // 'ready' was emitted by the loader already, once.
      if (hook?.cancelled || (loader?.readyFired && list[0] === 'ready')) continue;
      const off = api.on(...list);
      if (hook) hook.off = off;
    } else if (hook?.resolve) {
      // transcript() and load() called on the loader: its promise gets this one's answer.
      Promise.resolve(api[method](...list)).then(hook.resolve, hook.reject);
    } else if (method === 'transcript') api.transcript().catch(() => {});
    else api[method](...list);
  }
  widget.start().catch((error) => console.error('[chatbot] failed to start:', error));
}

/** Replaces the loader's launcher with the widget's (same place, same look), focus included. */
function takeOver(loader, widget) {
  const old = loader.host;
  if (old) {
    const focused = !!old.shadowRoot?.activeElement;
    const fresh = [...document.querySelectorAll('#parley-chatbot-widget')].find((el) => el !== old);
    old.remove();
    if (focused && !loader.clicked) fresh?.shadowRoot?.querySelector('.launcher')?.focus();
  }
  // The visitor pressed the loader's launcher: open as a press on the launcher does (focused).
  if (loader.clicked) widget.open();
  // A click the browser still gives the loader's (now detached) launcher opens the chat.
  loader.open = () => widget.open();
  // A press still held: released over the launcher, it opens the chat, whichever element the
  // browser gives the click to, or none (the one the press began on has left the page).
  if (loader.pressed && !loader.clicked) {
    onceReleased((event) => {
      const box = document.querySelector('#parley-chatbot-widget')?.shadowRoot?.querySelector('.launcher')?.getBoundingClientRect();
      const over = box && event.clientX >= box.left && event.clientX <= box.right && event.clientY >= box.top && event.clientY <= box.bottom;
      // After any click of the same release (which would toggle it), so open() has the last word.
      if (event.type === 'pointerup' && over) setTimeout(() => widget.open(), 0);
    });
  }
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', boot, { once: true });
else boot();
