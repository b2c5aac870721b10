// availability.js — owns the widget's mode: `live` (open and an agent online), `bot` (open,
// nobody online: the bot answers, a handoff waits for the next agent) or `away` (closed by the
// widget's business hours: the bot answers and a handoff asks for an email). The server decides
// it (GET /api/chatbot/config's `availability`, also in every conversation page); agents going
// on- or offline arrive as `AgentAvailability` and switch live/bot here at once; when the hours
// turn (the next opening or the closing time the server gave) the configuration is read again.
// Also the header's words for it: "We are away · back Monday at 09:00", in the visitor's
// language and time zone (the browser's).

/** Longest wait before looking again, however far the next change is (and setTimeout's limit). */
const MAX_WAIT_MS = 6 * 3600 * 1000;

/** The mode now: the server's, with `agentsOnline` (newer) deciding live or bot while open. */
export function modeOf(availability, agentsOnline) {
  if (availability?.mode === 'away') return 'away';
  if (typeof agentsOnline === 'boolean') return agentsOnline ? 'live' : 'bot';
  return availability?.mode === 'live' ? 'live' : 'bot';
}

/**
 * When the team is back, for the header: "at 09:00" today, "Monday at 09:00" this week,
 * "Monday 12 January at 09:00" later; in `locale` and the browser's time zone.
 */
export function backText(t, iso, now = new Date()) {
  const at = new Date(iso);
  if (!iso || Number.isNaN(at.getTime())) return t('statusAwayClosed');
  const locale = t.locale || 'en';
  const time = new Intl.DateTimeFormat(locale, { hour: 'numeric', minute: '2-digit' }).format(at);
  if (at.toDateString() === now.toDateString()) return t('statusAwayAt', { time });
  const soon = at - now < 6 * 24 * 3600 * 1000;
  const day = new Intl.DateTimeFormat(locale, soon ? { weekday: 'long' } : { weekday: 'long', day: 'numeric', month: 'long' }).format(at);
  return t('statusAwayOn', { day, time });
}

/** The header's line and whether its dot is lit, for the conversation and the mode. */
export function headerStatus(t, conversation, mode, availability) {
  const c = conversation || {};
  if (c.status === 'closed') return [t('statusClosed'), false];
  if (c.status === 'human' && c.assigned_agent_id) return [t('statusAgent'), true];
  if (mode === 'away') return [c.waiting_for_email ? t('statusAwayEmail') : backText(t, availability?.next_open_at), false];
  if (c.status === 'human') return mode === 'bot' ? [t('statusAway'), false] : [t('statusWaiting'), true];
  return mode === 'live' ? [t('statusOnline'), true] : [t('statusBot'), false];
}

/** Whether to ask the visitor for an email: away, handed over, and no address to reply to. */
export function wantsEmail(conversation, mode, availability) {
  const c = conversation || {};
  return mode === 'away' && availability?.asks_email === true && c.status === 'human' && !c.assigned_agent_id && !c.visitor_email && !c.waiting_for_email;
}

/**
 * Reads the configuration again for whether agents are online and the widget's availability;
 * an `AgentAvailability` event heard meanwhile is newer, and stays.
 */
export function rereadAvailability({ api, store }) {
  const agentsOnline = store.readingAgentsOnline();
  return api.config().then((c) => {
    agentsOnline(c?.agents_online);
    store.setAvailability(c?.availability);
  });
}

/**
 * Re-reads the configuration when the hours turn: at the next opening or the closing time of the
 * last availability seen (a second after, so the server agrees), at most every 6 hours.
 */
export function createHoursTimer({ api, store }) {
  let timer = null;
  let stopped = false;
  function schedule(availability) {
    clearTimeout(timer);
    timer = null;
    if (stopped) return;
    const turn = [availability?.next_open_at, availability?.closes_at].map((s) => (s ? Date.parse(s) : NaN)).filter(Number.isFinite);
    if (!turn.length) return;
    const wait = Math.min(Math.max(Math.min(...turn) - Date.now() + 1000, 1000), MAX_WAIT_MS);
    timer = setTimeout(() => {
      rereadAvailability({ api, store }).catch(() => schedule(availability)); // try again later
    }, wait);
  }
  store.on('availability', schedule);
  return {
    schedule,
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
