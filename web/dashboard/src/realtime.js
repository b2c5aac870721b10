// realtime.js — owns the dashboard's socket on the shared provider chain (Pusher when enabled,
// then Reverb, each tried a few times, then polling with a retry every 30 s): the team channel
// `private-agents` (who is available) and each of the agent's widgets' inbox channels
// `private-agents.{widget_id}` (their conversations' updates), the agent's own `private-agent.{id}`
// (mentions, conversations given to or taken from them; the server closes it when the agent is
// revoked, so a revoked dashboard falls back to polling and is refused at once), and the
// open conversation's `private-chat.conversation.{id}`, their events, and typing whispers.
// Channels are authorised by POST /api/agent/broadcasting/auth, signed in as every other call
// (api.js: the session cookie with X-CSRF-Token, or the agent's token). A channel counts as live
// only while the socket is connected AND the channel is subscribed; the app polls whatever is not
// live.

import { LABEL, createProviderChain } from '../../shared/realtime.js';

const AGENTS = 'agents';
const CONVERSATION_EVENTS = ['ChatMessageReceived', 'MessageRead', 'ReactionsUpdated', 'ConversationUpdated', 'ConversationRated', 'ConversationErased', 'BotTyping', 'AgentAvailability'];
const AGENTS_EVENTS = ['InboxUpdated', 'ConversationNeedsHuman', 'ConversationErased', 'AgentAvailability', 'WidgetsChanged', 'NoteAdded', 'LabelsUpdated', 'LabelsChanged'];

export function createRealtime({ config, agentId, widgets = [], api, handlers, options = {} }) {
  const live = { agents: false, conversation: false };
  // The team's channel and one inbox channel per widget the agent answers: "agents" is live when
  // every one of them is subscribed.
  let teamChannels = [AGENTS, ...widgets.map((id) => AGENTS + '.' + id)];
  let agents = null; // channel name -> Echo channel, while subscribing or subscribed
  let conversation = null; // {id, name, channel}
  const resubscribe = new Map(); // channel name -> timer

  const sockets = createProviderChain({
    config,
    api,
    options: Object.assign({ resubscribeAfter: 15000 }, options),
    prefix: '[dashboard] ',
    on: {
      trying() {},
      failed: (name) => console.warn('[dashboard] ' + LABEL[name] + ' could not connect'),
      exhausted() {},
      adopted(e, name) {
        console.info('[dashboard] ' + LABEL[name] + ' real-time connected');
        status();
        subscribeAgents();
        if (agentId != null) {
          e.private('agent.' + agentId)
            .error((error) => console.warn('[dashboard] own channel refused:', error))
            .listen('.AgentMentioned', (data) => handlers.onAgentsEvent('AgentMentioned', data || {}))
            .listen('.ConversationAssigned', (data) => handlers.onAgentsEvent('ConversationAssigned', data || {}))
            .listen('.ConversationUnassigned', (data) => handlers.onAgentsEvent('ConversationUnassigned', data || {}));
        }
        if (conversation) subscribeConversation(conversation.id);
      },
      down() {
        live.agents = live.conversation = false;
        status();
      },
      polling() {
        agents = null;
        if (conversation) conversation.channel = null;
        live.agents = live.conversation = false;
        status();
      },
    },
  });

  function status() {
    const provider = sockets.provider;
    handlers.onStatus({ provider, connected: !!sockets.echo && provider !== 'polling', agents: live.agents, conversation: live.conversation });
  }

  function setLive(which, on) {
    if (live[which] === on) return;
    live[which] = on;
    status();
  }

  /** Subscription refused (or the auth call failed): poll it, and try again later. */
  function onError(which, name, error) {
    console.warn('[dashboard] subscription to ' + name + ' failed:', error);
    setLive(which, false);
    clearTimeout(resubscribe.get(name));
    resubscribe.set(
      name,
      setTimeout(() => {
        const echo = sockets.echo;
        if (!echo) return;
        if (which === 'agents') {
          for (const teamChannel of teamChannels) echo.leave(teamChannel);
          agents = null;
          subscribeAgents();
        } else if (conversation && conversation.name === name) {
          echo.leave(name);
          conversation.channel = null;
          subscribeConversation(conversation.id);
        }
      }, sockets.opts.resubscribeAfter),
    );
  }

  function subscribeAgents() {
    if (!sockets.echo || agents) return;
    const mine = new Map();
    const done = new Set();
    agents = mine;
    for (const name of teamChannels) {
      const channel = sockets.echo.private(name);
      mine.set(name, channel);
      channel.subscribed(() => {
        if (agents !== mine) return;
        done.add(name);
        if (done.size === teamChannels.length) {
          setLive('agents', true);
          handlers.onAgentsSubscribed();
        }
      });
      channel.error((error) => agents === mine && onError('agents', name, error));
      for (const event of AGENTS_EVENTS) channel.listen('.' + event, (data) => agents === mine && handlers.onAgentsEvent(event, data || {}));
    }
  }

  function subscribeConversation(id) {
    if (!sockets.echo || !conversation || conversation.id !== id || conversation.channel) return;
    const name = 'chat.conversation.' + id;
    const channel = sockets.echo.private(name);
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
      status(); // connecting (or, at once, polling)
      sockets.start();
    },
    /** Follows the open conversation: subscribes to its channel and leaves the previous one. */
    follow(id) {
      if ((conversation?.id ?? null) === (id ?? null)) return;
      if (conversation && sockets.echo) sockets.echo.leave('chat.conversation.' + conversation.id);
      if (conversation?.name) clearTimeout(resubscribe.get(conversation.name));
      conversation = id == null ? null : { id, name: 'chat.conversation.' + id, channel: null };
      live.conversation = false;
      status();
      if (conversation) subscribeConversation(id);
    },
    /** Follows these widgets' inbox channels from now on (the answer to `WidgetsChanged`). */
    setWidgets(ids) {
      const next = [AGENTS, ...ids.map((id) => AGENTS + '.' + id)];
      if (next.join() === teamChannels.join()) return;
      const echo = sockets.echo;
      if (echo && agents) for (const name of teamChannels) echo.leave(name);
      teamChannels = next;
      agents = null;
      setLive('agents', false);
      subscribeAgents();
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
    socketId() {
      const echo = sockets.echo;
      return echo && sockets.provider !== 'polling' && echo.connector.pusher.connection.state === 'connected' ? echo.socketId() || null : null;
    },
    nudge: sockets.nudge,
    isLive: (which) => live[which],
    get provider() {
      return sockets.provider;
    },
    get echo() {
      return sockets.echo;
    },
    stop() {
      sockets.stop();
      for (const timer of resubscribe.values()) clearTimeout(timer);
    },
  };
}
