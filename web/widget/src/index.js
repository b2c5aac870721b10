// index.js — the bundle's entry: reads window.ChatbotConfig, turns the pre-load stub
// window.ChatbotWidget (if the page has one) into the real API in place, so references the page
// kept stay valid, and replays the calls the stub queued. The stub a page may inline before the
// script tag (see widget/README.md):
//
//   window.ChatbotWidget = window.ChatbotWidget || (function () { var w = { q: [] };
//     ['open','close','toggle','setUser','on'].forEach(function (m) {
//       w[m] = function () { w.q.push([m, [].slice.call(arguments)]); }; }); return w; })();

import { createWidget } from './widget.js';

// eslint-disable-next-line no-undef -- replaced by the bundler with package.json's version
const VERSION = typeof __WIDGET_VERSION__ === 'string' ? __WIDGET_VERSION__ : 'dev';
const METHODS = ['open', 'close', 'toggle', 'setUser', 'on'];

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
  if (existing && existing.__parley) return; // the script is on the page twice
  const cfg = Object.assign({}, window.ChatbotConfig || {});
  const widgetUrl = String(cfg.widgetUrl || SCRIPT_ORIGIN || '').replace(/\/+$/, '');
  const api = existing && typeof existing === 'object' ? existing : {};
  const queued = Array.isArray(api.q) ? api.q.splice(0) : [];

  if (!cfg.apiToken || /^__PARLEY_/.test(cfg.apiToken) || !/^https?:\/\//.test(widgetUrl)) {
    console.error('[chatbot] window.ChatbotConfig needs apiToken and widgetUrl (http or https); the widget is not started.');
    return;
  }

  const widget = createWidget(Object.assign(cfg, { widgetUrl }));
  Object.assign(api, {
    __parley: VERSION,
    version: VERSION,
    open: () => widget.open(),
    close: () => widget.close(),
    toggle: () => widget.toggle(),
    setUser: (user) => widget.setUser(user),
    /** Emails the conversation to the visitor's address: a promise of the server's answer. */
    transcript: () => widget.transcript(),
    /** on('message'|'open'|'close'|'unread'|'ready'|'realtime'|'rated'|'proactive'|'reopened', fn) → unsubscribe function */
    on: (event, fn) => widget.events.on(event, fn),
    state: widget.state,
  });
  Object.defineProperty(api, 'echo', { get: () => widget.echo, configurable: true, enumerable: false });
  delete api.q;
  window.ChatbotWidget = api;

  for (const call of queued) {
    const [method, args] = Array.isArray(call) ? call : [];
    if (METHODS.includes(method)) api[method](...(args ? Array.from(args) : []));
  }
  widget.start().catch((error) => console.error('[chatbot] failed to start:', error));
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', boot, { once: true });
else boot();
