// ui/status.js — owns the one set of words for where a conversation stands, so the dashboard's
// inbox tabs, the conversation's header, the visitor details and the reports all say the same:
// "Bot" (the bot answers), "Waiting" (handed to the team, nobody has it yet), "With an agent"
// (an agent has it) and "Closed". The widget says the same to visitors in whole sentences, in
// their language (its `statusBot`, `statusWaiting`, `statusAgent` and `statusClosed`).

/** Each status's word, by key. */
export const STATUS_WORDS = Object.freeze({ bot: 'Bot', waiting: 'Waiting', agent: 'With an agent', closed: 'Closed' });

/**
 * The key of a conversation's status (`bot`, `waiting`, `agent` or `closed`) from the API's
 * `status` (`bot`, `human`, `closed`) and `assigned_agent_id`; null when unknown.
 */
export function statusKey(c) {
  if (!c) return null;
  if (c.status === 'closed') return 'closed';
  if (c.status === 'bot') return 'bot';
  if (c.status === 'human') return c.assigned_agent_id != null ? 'agent' : 'waiting';
  return null;
}

/** A conversation's status in words ('' when unknown). */
export function statusLabel(c) {
  const key = statusKey(c);
  return key ? STATUS_WORDS[key] : '';
}
