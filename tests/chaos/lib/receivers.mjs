// Receivers: what each one shows is what the test checks.
//
// `PusherReceiver` is a client as the widget is built: laravel-echo + pusher-js subscribed to the
// conversation's private channel, authorised by the real endpoint with the visitor token;
// it keeps messages by id (the widget's rule) and gap-fills with `GET …?after=` page by page on
// every (re)subscription, and polls the same way while it has no live subscription (every 2 s,
// backing off while the server is away, as the widget's catch-up does). Like the widget, it
// fills after its cursor (the highest id its fills returned), not after the highest id it holds,
// which an event may have moved past a gap.
//
// `WidgetReceiver` is the real widget in Chromium; what it shows is read from its DOM.

import Echo from 'laravel-echo';
import PusherJS from 'pusher-js';

PusherJS.logToConsole = false;

// pusher-js's Node transport (faye-websocket) arms a 30 s close timer when it closes a socket
// the server already dropped; it changes nothing but keeps the process alive. Unref it.
{
  const Faye = PusherJS.Runtime.getWebSocketAPI();
  class UnrefCloseTimer extends Faye {
    close(...args) {
      const result = super.close(...args);
      this._closeTimer?.unref?.();
      return result;
    }
  }
  PusherJS.Runtime.getWebSocketAPI = () => UnrefCloseTimer;
}

const PAGE = 100;
const POLL_MS = 2000;
const FETCH_TIMEOUT_MS = 5000;
/** The widget waits 30 s before trying a refused channel again; the runs here are shorter. */
const RESUBSCRIBE_MS = 5000;

export class PusherReceiver {
  constructor({ name, node, conversation }) {
    Object.assign(this, { name, node, conversation });
    this.kind = 'pusher-js';
    this.byId = new Map();
    this.cursor = 0; // everything up to here is held
    this.live = 0; // messages that arrived as events
    this.filled = 0; // messages that arrived through ?after=
    this.subscriptions = 0;
    this.subscribed = false;
    this.running = null;
    this.again = false;
    this.failures = 0;
    this.errors = [];
  }

  async start() {
    const res = await fetch(`${this.node.baseUrl}/api/chatbot/config`, { headers: { Authorization: 'Bearer ' + this.conversation.token } });
    const config = await res.json();
    if (config.realtimeProvider !== 'reverb') throw new Error(`${this.name}: the server offers ${config.realtimeProvider}, not reverb`);
    this.echo = new Echo({
      broadcaster: 'reverb',
      key: config.reverb.key,
      Pusher: PusherJS,
      wsHost: config.reverb.host,
      wsPort: config.reverb.port,
      wssPort: config.reverb.port,
      forceTLS: false,
      enabledTransports: ['ws'],
      disableStats: true,
      authEndpoint: `${this.node.baseUrl}/api/chatbot/broadcasting/auth`,
      auth: { headers: { Authorization: 'Bearer ' + this.conversation.token, 'X-Visitor-Token': this.conversation.visitorToken } },
    });
    const connection = this.echo.connector.pusher.connection;
    connection.bind('state_change', ({ current }) => {
      if (current !== 'connected') this.setSubscribed(false);
    });
    this.subscribe();
    // Polling runs until the first subscription succeeds.
    this.setSubscribed(false);
  }

  subscribe() {
    this.channel = this.echo
      .private(`chat.conversation.${this.conversation.id}`)
      .subscribed(() => {
        this.subscriptions++;
        this.setSubscribed(true);
        this.fill();
      })
      .error((error) => {
        // As the widget: poll meanwhile, and try the channel again later.
        this.errors.push(`subscription error ${error?.status ?? ''}`.trim());
        this.setSubscribed(false);
        clearTimeout(this.resubscribeTimer);
        this.resubscribeTimer = setTimeout(() => {
          if (this.subscribed || this.stopped) return;
          this.echo.leave(`chat.conversation.${this.conversation.id}`);
          this.subscribe();
        }, RESUBSCRIBE_MS);
      })
      .listen('.ChatMessageReceived', (m) => {
        // Too large for one event: only its id came, and the catch-up fetches it (as the widget).
        if (m?.truncated) return void this.fill();
        this.live++;
        this.merge([m]);
      });
  }

  setSubscribed(on) {
    this.subscribed = on;
    clearTimeout(this.pollTimer);
    this.pollTimer = null;
    if (!on && !this.stopped) this.pollTimer = setTimeout(() => this.tick(), POLL_MS);
  }

  tick() {
    this.pollTimer = null;
    if (this.subscribed || this.stopped) return;
    this.fill().finally(() => {
      if (this.subscribed || this.stopped || this.pollTimer) return;
      const wait = this.failures ? Math.min(30000, POLL_MS * 2 ** Math.min(this.failures, 4)) : POLL_MS;
      this.pollTimer = setTimeout(() => this.tick(), wait);
    });
  }

  merge(list) {
    let fresh = 0;
    for (const raw of list) {
      const id = Number(raw?.id);
      if (!Number.isSafeInteger(id) || id <= 0 || this.byId.has(id)) continue;
      if (raw.conversation_id != null && Number(raw.conversation_id) !== this.conversation.id) continue;
      this.byId.set(id, { id, text: raw.message, client_id: raw.client_id ?? null });
      fresh++;
    }
    return fresh;
  }

  /** One catch-up at a time; asked during one, it runs once more after it. */
  fill() {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          await this.fillOnce();
        } while (this.again);
        this.failures = 0;
      } catch (error) {
        this.failures++;
        this.lastFillError = String(error?.message || error);
      } finally {
        this.running = null;
      }
    })();
    return this.running;
  }

  async fillOnce() {
    for (let page = 0; page < 1000; page++) {
      const url = `${this.node.baseUrl}/api/chatbot/conversation/${this.conversation.id}?after=${this.cursor}&limit=${PAGE}`;
      const res = await fetch(url, {
        headers: { Authorization: 'Bearer ' + this.conversation.token, 'X-Visitor-Token': this.conversation.visitorToken, Accept: 'application/json' },
        signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
      });
      if (!res.ok) throw new Error(`GET ?after= answered ${res.status}`);
      const body = await res.json();
      this.filled += this.merge(body.messages || []);
      for (const m of body.messages || []) if (m.id > this.cursor) this.cursor = m.id;
      if (!body.has_more || !body.messages?.length) return;
    }
  }

  /** What it shows, in the order shown (by id, as the widget orders). */
  shown() {
    return [...this.byId.values()].sort((a, b) => a.id - b.id);
  }

  describe() {
    const errors = this.errors.length ? `, ${this.errors.length} subscription errors` : '';
    return `${this.subscriptions} subscriptions, ${this.live} live, ${this.filled} gap-filled${errors}`;
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.pollTimer);
    clearTimeout(this.resubscribeTimer);
    this.echo?.disconnect();
  }
}

// ---------------------------------------------------------------------------------- the widget

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** The widget's localStorage namespace for (widgetUrl, token): FNV-1a, as web/widget/src/storage.js. */
function storagePrefix(widgetUrl, token) {
  const text = widgetUrl + '|' + token;
  let h = FNV_OFFSET;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, FNV_PRIME);
  }
  return 'parley:' + (h >>> 0).toString(36) + ':';
}

export class WidgetReceiver {
  constructor({ name, node, conversation, context }) {
    Object.assign(this, { name, node, conversation, context });
    this.kind = 'widget';
    this.errors = [];
  }

  /** Opens the test page with the visitor's session already stored, as after a reload. */
  async start() {
    const page = await this.context.newPage();
    this.page = page;
    page.on('pageerror', (error) => this.errors.push(String(error)));
    const url = `${this.node.baseUrl}/chatbot-test.html`;
    await page.goto(url);
    await page.waitForFunction(() => window.ChatbotWidget && window.ChatbotWidget.__parley, null, { timeout: 15000 });
    const { widgetUrl, apiToken } = await page.evaluate(() => ({ widgetUrl: window.ChatbotConfig.widgetUrl, apiToken: window.ChatbotConfig.apiToken }));
    const key = storagePrefix(String(widgetUrl).replace(/\/+$/, ''), apiToken) + 'session';
    const session = { conversationId: this.conversation.id, visitorToken: this.conversation.visitorToken, started: Date.now() };
    await page.evaluate(([k, v]) => localStorage.setItem(k, JSON.stringify(v)), [key, session]);
    await page.reload();
    await page.waitForFunction(() => window.ChatbotWidget && window.ChatbotWidget.state, null, { timeout: 15000 });
    await page.locator('#parley-chatbot-widget .launcher').click();
    await page.locator('#parley-chatbot-widget .panel').waitFor({ state: 'visible' });
    const id = this.conversation.id;
    try {
      await page.waitForFunction(
        (cid) => window.ChatbotWidget.state.conversationId === cid && window.ChatbotWidget.state.realtimeConnected,
        id,
        { timeout: 20000, polling: 100 },
      );
    } catch {
      const state = await page.evaluate(() => ({ id: window.ChatbotWidget.state.conversationId, live: window.ChatbotWidget.state.realtimeConnected }));
      throw new Error(`${this.name}: the widget did not resume conversation ${id} live (it has ${JSON.stringify(state)}); did the widget's storage key change?`);
    }
  }

  /** What the visitor sees: the stored (not pending) bubbles, top to bottom. */
  async read() {
    const rows = await this.page.evaluate(() => {
      const root = document.querySelector('#parley-chatbot-widget')?.shadowRoot;
      if (!root) return [];
      return [...root.querySelectorAll('.list .msg:not(.pending)')]
        .filter((li) => li.dataset.id)
        .map((li) => ({ id: Number(li.dataset.id), text: li.querySelector('.bubble')?.textContent ?? '' }));
    });
    this.last = rows;
    return rows;
  }

  shown() {
    return (this.last || []).map((r) => ({ id: r.id, text: r.text }));
  }

  describe() {
    return `read from the DOM${this.errors.length ? `, page errors: ${this.errors.slice(0, 3).join('; ')}` : ''}`;
  }

  async stop() {
    await this.page?.close().catch(() => {});
  }
}
