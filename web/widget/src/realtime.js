// realtime.js — owns the socket: the seed's provider chain (Pusher when enabled, then Reverb,
// then polling), 5 connection attempts 1 s apart per provider, the private channel
// `chat.conversation.{id}` and its events, and typing whispers. laravel-echo 2 and pusher-js 8
// (its smallest browser build, without encryption) are bundled, never loaded from a CDN, and
// handed to each other directly so the host page's own window.Echo / window.Pusher (a Laravel
// site often has both) are neither needed nor touched. Whether we are "connected" means socket up
// AND channel subscribed; the widget polls whenever that is false.

import Echo from 'laravel-echo';
import Pusher from 'pusher-js/dist/web/pusher.min.js';
import { connectEcho, echoOptions as sharedEchoOptions } from '../../shared/echo-options.js';

export const REALTIME_CONFIG = {
  providers: ['pusher', 'reverb'], // priority order, as in the seed
  reconnectAttempts: 5,
  reconnectDelay: 1000,
  attemptTimeout: 3000, // pusher-js retries a refused socket silently, so we time each attempt
  retryFallbackAfter: 30000, // while polling, try the sockets again this often
  resubscribeAfter: 30000, // after a subscription error
};

const LABEL = { pusher: 'Pusher', reverb: 'Reverb' };

export function createRealtime({ config, api, store, handlers, options = {}, debug = true }) {
  const opts = Object.assign({}, REALTIME_CONFIG, options);
  const state = store.state;
  const log = (...a) => debug && console.log(...a);
  let echo = null;
  let channel = null;
  let channelName = null;
  let conversationId = null;
  let generation = 0;
  let retryTimer = null;
  let fallbackLogged = false;
  let started = false;

  function setConnected(connected) {
    if (state.realtimeConnected === connected) return;
    state.realtimeConnected = connected;
    handlers.onStatus(connected);
  }

  function echoOptions(name) {
    return sharedEchoOptions({ Pusher, config, provider: name, authorize: (socketId, channel) => api.authorize(socketId, channel, name) });
  }

  /** Resolves to a connected Echo, or null after the allowed attempts. */
  function attempt(name, gen, attempts) {
    return connectEcho({
      Echo,
      options: echoOptions(name),
      attempts,
      attemptTimeout: opts.attemptTimeout,
      reconnectDelay: opts.reconnectDelay,
      isCurrent: () => gen === generation,
      onError: (error) => console.warn(LABEL[name] + ' could not start:', error),
    });
  }

  function adopt(e, name) {
    echo = e;
    state.realtimeProvider = name;
    log('✓ ' + LABEL[name] + ' real-time connected');
    // After this, pusher-js reconnects by itself (and resubscribes, which gap-fills); until it
    // does we are not connected, so the widget polls.
    e.connector.pusher.connection.bind('state_change', ({ current }) => {
      if (echo !== e) return;
      if (current !== 'connected') setConnected(false);
      if (current === 'failed') usePolling();
    });
    subscribe();
  }

  function usePolling() {
    if (echo) {
      echo.disconnect();
      echo = null;
    }
    channel = null;
    channelName = null;
    state.channelSubscription = null;
    state.realtimeProvider = 'polling';
    state.realtimeConnected = false;
    handlers.onStatus(false); // always: the provider changed even if "connected" did not
    if (chain().length) {
      clearTimeout(retryTimer);
      retryTimer = setTimeout(() => connect(1), opts.retryFallbackAfter);
    }
  }

  function chain() {
    return opts.providers.filter((name) => config[name]?.enabled && config[name]?.key);
  }

  async function connect(attempts = opts.reconnectAttempts) {
    const gen = ++generation;
    clearTimeout(retryTimer);
    const names = chain();
    for (let i = 0; i < names.length; i++) {
      const name = names[i];
      if (name === 'pusher' && !fallbackLogged) log('✓ Pusher loaded');
      const e = await attempt(name, gen, attempts);
      if (gen !== generation) return e?.disconnect();
      if (e) {
        if (echo && echo !== e) echo.disconnect();
        return adopt(e, name);
      }
      const next = names[i + 1];
      const line = LABEL[name] + ' initialization failed, ' + (next ? 'trying ' + LABEL[next] : 'falling back to polling') + '...';
      if (fallbackLogged) console.debug(line);
      else console.warn(line);
    }
    fallbackLogged = true;
    usePolling();
  }

  function bindChannel(ch, name) {
    const via = () => state.realtimeProvider;
    ch.subscribed(() => {
      if (channelName !== name) return;
      log('✓ Subscribed to real-time channel: ' + name + ' via ' + via());
      setConnected(true);
      handlers.onSubscribed();
    })
      .error((error) => {
        if (channelName !== name) return;
        console.warn('Subscription error:', error);
        // The seed's fallback: poll. Try the channel again later (a token may have been renewed).
        setConnected(false);
        clearTimeout(retryTimer);
        retryTimer = setTimeout(() => {
          if (channelName !== name || !echo) return;
          echo.leave(name);
          channelName = null;
          subscribe();
        }, opts.resubscribeAfter);
      })
      .listen('.ChatMessageReceived', (m) => {
        log('✓ New message received via ' + via() + ': ' + (m?.message ?? ''));
        handlers.onMessage(m);
      })
      .listen('.MessageRead', (e) => handlers.onRead(e))
      .listen('.ReactionsUpdated', (e) => handlers.onReactions(e))
      .listen('.ConversationUpdated', (e) => handlers.onConversation(e))
      .listen('.AgentAvailability', (e) => handlers.onAvailability(e))
      .listen('.BotTyping', (e) => handlers.onTyping({ typing: !!e?.typing, sender_type: 'bot', name: e?.name }))
      .listenForWhisper('typing', (e) => {
        if (e?.sender_type !== 'visitor') handlers.onTyping(Object.assign({ sender_type: 'agent' }, e));
      });
  }

  function subscribe() {
    if (!echo || conversationId == null) return;
    const name = 'chat.conversation.' + conversationId;
    if (channelName === name) return;
    if (channelName) echo.leave(channelName);
    channelName = name;
    setConnected(false);
    channel = echo.private(name);
    state.channelSubscription = channel;
    bindChannel(channel, name);
  }

  return {
    /** Follows the current conversation: subscribes, switches channel, or leaves. */
    setConversation(id) {
      if (id === conversationId) return;
      conversationId = id;
      if (id == null) {
        if (echo && channelName) echo.leave(channelName);
        channelName = null;
        channel = null;
        state.channelSubscription = null;
        setConnected(false);
        return;
      }
      if (!started) {
        started = true;
        log('✓ Laravel Echo loaded');
        if (chain().length) connect();
        else usePolling();
      } else subscribe();
    },
    socketId: () => (echo && state.realtimeConnected ? echo.socketId() || null : null),
    /** Tells the other side the visitor is typing (callers throttle). */
    whisperTyping(typing) {
      if (!channel || !state.realtimeConnected) return;
      try {
        channel.whisper('typing', { typing, sender_type: 'visitor' });
      } catch {
        /* not subscribed this instant: a typing hint is not worth more */
      }
    },
    /** The network came back: let pusher-js retry now rather than after its back-off. */
    nudge() {
      if (echo && echo.connector.pusher.connection.state !== 'connected') echo.connector.pusher.connect();
      else if (!echo && started && chain().length && state.realtimeProvider === 'polling') connect(1);
    },
    get echo() {
      return echo;
    },
  };
}
