// realtime.js — owns the widget's socket on the shared provider chain (Pusher when enabled, then
// Reverb, 5 attempts 1 s apart each, then polling, as in the seed, with the seed's console lines):
// the private channel `chat.conversation.{id}` and its events, and typing whispers. Whether we are
// "connected" means socket up AND channel subscribed; the widget polls whenever that is false.

import { LABEL, createProviderChain } from '../../shared/realtime.js';

export function createRealtime({ config, api, store, handlers, options = {}, debug = true }) {
  const state = store.state;
  const log = (...a) => debug && console.log(...a);
  let channel = null;
  let channelName = null;
  let conversationId = null;
  let fallbackLogged = false;
  let started = false;
  let adopted = null; // the provider whose socket we use, once one connected

  function setConnected(connected) {
    if (state.realtimeConnected === connected) return;
    state.realtimeConnected = connected;
    // Honest for debugging: while the socket is down the widget polls, so polling delivers.
    if (adopted) state.realtimeProvider = connected ? adopted : 'polling';
    handlers.onStatus(connected);
  }

  const sockets = createProviderChain({
    config,
    api,
    options,
    on: {
      trying(name) {
        if (name === 'pusher' && !fallbackLogged) log('✓ Pusher loaded');
      },
      failed(name, next) {
        const line = LABEL[name] + ' initialization failed, ' + (next ? 'trying ' + LABEL[next] : 'falling back to polling') + '...';
        if (fallbackLogged) console.debug(line);
        else console.warn(line);
      },
      exhausted() {
        fallbackLogged = true;
      },
      adopted(e, name) {
        adopted = name;
        state.realtimeProvider = name;
        log('✓ ' + LABEL[name] + ' real-time connected');
        // From here pusher-js reconnects by itself (and resubscribes, which gap-fills); until it
        // does we are not connected, so the widget polls.
        subscribe();
      },
      down: () => setConnected(false),
      polling() {
        adopted = null;
        channel = null;
        channelName = null;
        state.channelSubscription = null;
        state.realtimeProvider = 'polling';
        state.realtimeConnected = false;
        handlers.onStatus(false); // always: the provider changed even if "connected" did not
      },
    },
  });

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
        sockets.later(() => {
          if (channelName !== name || !sockets.echo) return;
          sockets.echo.leave(name);
          channelName = null;
          subscribe();
        });
      })
      .listen('.ChatMessageReceived', (m) => {
        log('✓ New message received via ' + via() + ': ' + (m?.message ?? ''));
        handlers.onMessage(m);
      })
      .listen('.MessageRead', (e) => handlers.onRead(e))
      .listen('.ReactionsUpdated', (e) => handlers.onReactions(e))
      .listen('.ConversationUpdated', (e) => handlers.onConversation(e))
      .listen('.AgentAvailability', (e) => handlers.onAvailability(e))
      .listen('.ConversationRated', (e) => handlers.onRated(e))
      .listen('.ConversationErased', (e) => handlers.onErased?.(e))
      .listen('.BotTyping', (e) => handlers.onTyping({ typing: !!e?.typing, sender_type: 'bot', name: e?.name }))
      .listenForWhisper('typing', (e) => {
        if (e?.sender_type !== 'visitor') handlers.onTyping(Object.assign({ sender_type: 'agent' }, e));
      });
  }

  function subscribe() {
    const echo = sockets.echo;
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
        if (sockets.echo && channelName) sockets.echo.leave(channelName);
        channelName = null;
        channel = null;
        state.channelSubscription = null;
        setConnected(false);
        return;
      }
      if (!started) {
        started = true;
        log('✓ Laravel Echo loaded');
        sockets.start();
      } else subscribe();
    },
    socketId: () => (sockets.echo && state.realtimeConnected ? sockets.echo.socketId() || null : null),
    /** Tells the other side the visitor is typing (callers throttle). */
    whisperTyping(typing) {
      if (!channel || !state.realtimeConnected) return;
      try {
        channel.whisper('typing', { typing, sender_type: 'visitor' });
      } catch {
        /* not subscribed this instant: a typing hint is not worth more */
      }
    },
    nudge: sockets.nudge,
    get echo() {
      return sockets.echo;
    },
  };
}
