// presence.js — owns the agent's own availability and the team's. It sets availability with
// PUT /api/agent/availability (optimistic, rolled back on failure), sends the heartbeat
// (POST /api/agent/heartbeat) every 25 s while the page is open, and on pagehide says it is
// leaving with a keepalive request (the server then counts the agent online for a short grace
// only), unless another dashboard tab of this browser is still open (tabs find each other over a
// BroadcastChannel). Reopening restores what the agent last chose. The team comes from GET /api/agent/agents and the
// `AgentAvailability` events on `private-agents`.

export const HEARTBEAT_MS = 25000;
export const AVAILABILITIES = ['online', 'away', 'offline'];

function tabId() {
  const bytes = new Uint8Array(8);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export function createPresence({ api, storage, onSelf, onTeam, onError }) {
  let self = null;
  let team = [];
  let online = 0;
  let heartbeatTimer = null;
  let lastBeat = 0;
  let stopped = false;
  let changing = 0;
  let teamEvents = 0; // `AgentAvailability` events heard, so a slower read does not undo a newer one
  const me = tabId();
  const others = new Set();
  let channel = null;
  try {
    channel = new BroadcastChannel('parley-dashboard');
  } catch {
    channel = null; // an old browser: each tab acts alone
  }

  const post = (msg) => {
    try {
      channel?.postMessage(Object.assign({ from: me }, msg));
    } catch {
      /* closed */
    }
  };

  function setSelf(agent) {
    if (!agent || typeof agent !== 'object') return;
    self = Object.assign({}, self, agent);
    const i = team.findIndex((a) => a.id === self.id);
    if (i >= 0) team[i] = Object.assign({}, team[i], self);
    onSelf(self);
  }

  function setTeam(agents, count) {
    if (!Array.isArray(agents)) return;
    team = agents.filter((a) => a && a.id != null);
    online = Number.isFinite(Number(count)) ? Number(count) : team.filter((a) => a.online).length;
    const mine = team.find((a) => self && a.id === self.id);
    // While our own change is in flight, an event from before it must not flip the switch back.
    if (mine && !changing) setSelf(mine);
    onTeam(team, online);
  }

  async function beat() {
    lastBeat = Date.now();
    try {
      const res = await api.heartbeat();
      if (!changing) setSelf(res?.agent);
    } catch (error) {
      if (error?.status !== 401) onError?.(error, 'heartbeat');
    }
    refreshTeam();
  }

  async function refreshTeam() {
    const heard = teamEvents;
    try {
      const res = await api.agents();
      // An event that came while this was read may be newer than what was read: keep it, and
      // read once more (a read begun now sees at least what the event said).
      if (teamEvents === heard) setTeam(res?.agents, res?.agents_online);
      else refreshTeam();
    } catch {
      /* shown as it was; the next heartbeat tries again */
    }
  }

  async function set(availability, { remember = true } = {}) {
    if (!AVAILABILITIES.includes(availability) || !self) return;
    const before = self.availability;
    if (remember) storage.setAvailability(availability);
    changing++;
    setSelf({ availability, online: availability === 'online' });
    post({ type: 'availability', availability });
    try {
      const res = await api.setAvailability(availability);
      changing--;
      setSelf(res?.agent);
      lastBeat = Date.now();
    } catch (error) {
      changing--;
      setSelf({ availability: before });
      if (error?.status !== 401) onError?.(error, 'availability');
      return;
    }
    refreshTeam();
  }

  function onMessage(e) {
    const msg = e.data || {};
    if (msg.from === me) return;
    if (msg.type === 'hello') {
      others.add(msg.from);
      post({ type: 'here' });
    } else if (msg.type === 'here') others.add(msg.from);
    else if (msg.type === 'bye') others.delete(msg.from);
    else if (msg.type === 'availability' && AVAILABILITIES.includes(msg.availability)) setSelf({ availability: msg.availability, online: msg.availability === 'online' });
  }

  function onPageHide() {
    post({ type: 'bye' });
    if (stopped || !self || others.size) return;
    if (self.availability !== 'offline') api.goodbye();
  }

  function onPageShow(e) {
    if (!e.persisted || stopped) return;
    // Back from the back/forward cache: we said goodbye, so say hello again.
    post({ type: 'hello' });
    const saved = storage.availability();
    if (saved && saved !== 'offline') set(saved, { remember: false });
    else beat();
  }

  function onVisible() {
    // Hidden tabs' timers are throttled: catch up at once when the agent comes back.
    if (!document.hidden && !stopped && Date.now() - lastBeat > HEARTBEAT_MS) beat();
  }

  return {
    /** Begins with the agent from GET /api/agent/me. */
    start(agent) {
      setSelf(agent);
      channel?.addEventListener('message', onMessage);
      post({ type: 'hello' });
      window.addEventListener('pagehide', onPageHide);
      window.addEventListener('pageshow', onPageShow);
      document.addEventListener('visibilitychange', onVisible);
      const saved = storage.availability();
      // Stored offline (signed out elsewhere, or an older dashboard's goodbye): put back the choice.
      if (saved && saved !== 'offline' && self.availability === 'offline') set(saved, { remember: false });
      else beat();
      heartbeatTimer = setInterval(beat, HEARTBEAT_MS);
    },
    set,
    /** `AgentAvailability` on `private-agents`: {agents_online: n, agents: [...]}, or without
     * the list (`truncated`) when the team is too large for an event. */
    applyEvent(e) {
      teamEvents++;
      if (e?.truncated) refreshTeam();
      else setTeam(e?.agents, e?.agents_online);
    },
    refreshTeam,
    get self() {
      return self;
    },
    get team() {
      return team;
    },
    get online() {
      return online;
    },
    /** Signing out (every tab of this browser goes with it): offline now, then nothing more. */
    async signOut() {
      this.stop();
      if (self && self.availability !== 'offline') {
        await api.setAvailability('offline').catch(() => {});
      }
    },
    stop() {
      stopped = true;
      clearInterval(heartbeatTimer);
      post({ type: 'bye' });
      channel?.removeEventListener('message', onMessage);
      window.removeEventListener('pagehide', onPageHide);
      window.removeEventListener('pageshow', onPageShow);
      document.removeEventListener('visibilitychange', onVisible);
    },
  };
}
