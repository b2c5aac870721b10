// realtime.js — owns the dashboard's socket: the widget's provider chain (Pusher when enabled,
// then Reverb, each tried a few times, then polling with a retry every 30 s), the team channel
// `private-agents` (always), the agent's own `private-agent.{id}` (which the server closes when the
// agent is revoked, so a revoked dashboard falls back to polling and is refused at once), and the
// open conversation's `private-chat.conversation.{id}`, their events, and typing whispers. laravel-echo 2 and pusher-js 8 are bundled and handed to each other
// directly (no window.Echo / window.Pusher). Channels are authorised by
// POST /api/agent/broadcasting/auth with the agent's token. A channel counts as live only while
// the socket is connected AND the channel is subscribed; the app polls whatever is not live.

import Echo from 'laravel-echo';
import Pusher from 'pusher-js/dist/web/pusher.min.js';
import { connectEcho, echoOptions as sharedEchoOptions } from '../../shared/echo-options.js';

export const REALTIME_CONFIG = {
  providers: ['pusher', 'reverb'], // priority order, as in the widget
  reconnectAttempts: 5,
  reconnectDelay: 1000,
  attemptTimeout: 3000, // pusher-js retries a refused socket silently, so each attempt is timed
  retryFallbackAfter: 30000, // while polling, try the sockets again this often
  resubscribeAfter: 15000, // after a subscription error
};

const LABEL = { pusher: 'Pusher', reverb: 'Reverb' };
const AGENTS = 'agents';
const CONVERSATION_EVENTS = ['ChatMessageReceived', 'MessageRead', 'ReactionsUpdated', 'ConversationUpdated', 'BotTyping', 'AgentAvailability'];
const AGENTS_EVENTS = ['InboxUpdated', 'ConversationNeedsHuman', 'AgentAvailability'];

export function createRealtime({ config, agentId, api, handlers, options = {} }) {
  const opts = Object.assign({}, REALTIME_CONFIG, options);
  let echo = null;
  let provider = null; // 'pusher' | 'reverb' | 'polling' | null (connecting)
  let generation = 0;
  let retryTimer = null;
  let stopped = false;
  const live = { agents: false, conversation: false };
  let agents = null; // the Echo channel
  let conversation = null; // {id, name, channel}
  const resubscribe = new Map(); // channel name -> timer

  function status() {
    handlers.onStatus({ provider, connected: !!echo && provider !== 'polling', agents: live.agents, conversation: live.conversation });
  }

  function setLive(which, on) {
    if (live[which] === on) return;
    live[which] = on;
    status();
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
      onError: (error) => console.warn('[dashboard] ' + LABEL[name] + ' could not start:', error),
    });
  }

  function chain() {
    return opts.providers.filter((name) => config?.[name]?.enabled && config?.[name]?.key);
  }

  async function connect(attempts = opts.reconnectAttempts) {
    const gen = ++generation;
    clearTimeout(retryTimer);
    for (const name of chain()) {
      const e = await attempt(name, gen, attempts);
      if (gen !== generation || stopped) return e?.disconnect();
      if (e) return adopt(e, name);
      console.warn('[dashboard] ' + LABEL[name] + ' could not connect');
    }
    usePolling();
  }

  function adopt(e, name) {
    if (echo && echo !== e) echo.disconnect();
    echo = e;
    provider = name;
    console.info('[dashboard] ' + LABEL[name] + ' real-time connected');
    e.connector.pusher.connection.bind('state_change', ({ current }) => {
      if (echo !== e) return;
      if (current !== 'connected') {
        live.agents = live.conversation = false;
        status();
      }
      if (current === 'failed') usePolling();
    });
    status();
    subscribeAgents();
    if (agentId != null) {
      e.private('agent.' + agentId).error((error) => console.warn('[dashboard] own channel refused:', error));
    }
    if (conversation) subscribeConversation(conversation.id);
  }

  function usePolling() {
    if (echo) echo.disconnect();
    echo = null;
    agents = null;
    if (conversation) conversation.channel = null;
    provider = 'polling';
    live.agents = live.conversation = false;
    status();
    if (!stopped && chain().length) {
      clearTimeout(retryTimer);
      retryTimer = setTimeout(() => connect(1), opts.retryFallbackAfter);
    }
  }

  /** Subscription refused (or the auth call failed): poll it, and try again later. */
  function onError(which, name, error) {
    console.warn('[dashboard] subscription to ' + name + ' failed:', error);
    setLive(which, false);
    clearTimeout(resubscribe.get(name));
    resubscribe.set(
      name,
      setTimeout(() => {
        if (!echo) return;
        if (which === 'agents') {
          echo.leave(AGENTS);
          agents = null;
          subscribeAgents();
        } else if (conversation && conversation.name === name) {
          echo.leave(name);
          conversation.channel = null;
          subscribeConversation(conversation.id);
        }
      }, opts.resubscribeAfter),
    );
  }

  function subscribeAgents() {
    if (!echo || agents) return;
    const channel = echo.private(AGENTS);
    agents = channel;
    channel.subscribed(() => {
      if (agents !== channel) return;
      setLive('agents', true);
      handlers.onAgentsSubscribed();
    });
    channel.error((error) => agents === channel && onError('agents', AGENTS, error));
    for (const event of AGENTS_EVENTS) channel.listen('.' + event, (data) => agents === channel && handlers.onAgentsEvent(event, data || {}));
  }

  function subscribeConversation(id) {
    if (!echo || !conversation || conversation.id !== id || conversation.channel) return;
    const name = 'chat.conversation.' + id;
    const channel = echo.private(name);
    const current = () => conversation && conversation.channel === channel;
    conversation.channel = channel;
    conversation.name = name;
    channel.subscribed(() => {
      if (!current()) return;
      setLive('conversation', true);
      handlers.onConversationSubscribed(id);
    });
    channel.error((error) => current() && onError('conversation', name, error));
    for (const event of CONVERSATION_EVENTS) channel.listen('.' + event, (data) => current() && handlers.onConversationEvent(id, event, data || {}));
    channel.listenForWhisper('typing', (data) => current() && handlers.onWhisper(id, data || {}));
  }

  return {
    start() {
      if (chain().length) {
        provider = null;
        status();
        connect();
      } else usePolling();
    },
    /** Follows the open conversation: subscribes to its channel and leaves the previous one. */
    follow(id) {
      if ((conversation?.id ?? null) === (id ?? null)) return;
      if (conversation && echo) echo.leave('chat.conversation.' + conversation.id);
      if (conversation?.name) clearTimeout(resubscribe.get(conversation.name));
      conversation = id == null ? null : { id, name: 'chat.conversation.' + id, channel: null };
      live.conversation = false;
      status();
      if (conversation) subscribeConversation(id);
    },
    /** Tells the visitor (and other agents with it open) whether this agent is typing. */
    whisper(payload) {
      if (!conversation?.channel || !live.conversation) return;
      try {
        conversation.channel.whisper('typing', payload);
      } catch {
        /* not subscribed this instant: a typing hint is not worth more */
      }
    },
    socketId: () => (echo && provider !== 'polling' && echo.connector.pusher.connection.state === 'connected' ? echo.socketId() || null : null),
    /** The network came back: let pusher-js retry now rather than after its back-off. */
    nudge() {
      if (echo && echo.connector.pusher.connection.state !== 'connected') echo.connector.pusher.connect();
      else if (!echo && provider === 'polling' && chain().length) connect(1);
    },
    isLive: (which) => live[which],
    get provider() {
      return provider;
    },
    get echo() {
      return echo;
    },
    stop() {
      stopped = true;
      generation++;
      clearTimeout(retryTimer);
      for (const timer of resubscribe.values()) clearTimeout(timer);
      echo?.disconnect();
      echo = null;
    },
  };
}
