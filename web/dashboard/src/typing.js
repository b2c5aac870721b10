// typing.js — owns typing in the open conversation, both ways: who else is typing (the visitor,
// the bot, other agents; each hint expires by itself, since typing stops silently when a tab
// closes) shown as one line, and this agent's own typing sent as whispers, throttled to at most
// one per 2 s (the latest value wins). Leaving a conversation takes back a "typing" that went out.

const WHISPER_EVERY_MS = 2000;

/**
 * @param {object} o
 * @param {(line: string|null) => void} o.show the "… is typing…" line (null: nobody)
 * @param {(payload: object) => void} o.whisper sends a typing whisper on the open conversation
 * @param {() => string} o.name this agent's name, as the visitor sees it
 */
export function createTyping({ show, whisper, name }) {
  const typers = new Map(); // who -> {label, timer}
  const own = { last: 0, sent: false, timer: null, want: false };

  function showTyping() {
    const labels = [...typers.values()].map((v) => v.label);
    show(labels.length ? labels.join(', ') + (labels.length > 1 ? ' are typing…' : ' is typing…') : null);
  }

  /** `who` (shown as `label`) is typing or not; `ms` later the hint expires. */
  function set(who, label, on, ms) {
    const before = typers.get(who);
    if (before) clearTimeout(before.timer);
    if (on) typers.set(who, { label, timer: setTimeout(() => set(who, label, false), ms) });
    else typers.delete(who);
    showTyping();
  }

  function clear() {
    for (const v of typers.values()) clearTimeout(v.timer);
    typers.clear();
    showTyping();
  }

  function flush() {
    own.timer = null;
    if (!own.want && !own.sent) return; // nothing to take back
    own.last = Date.now();
    own.sent = own.want;
    whisper({ typing: own.want, name: name(), sender_type: 'agent' });
  }

  return {
    set,
    /** This agent is typing (true) or stopped (false). */
    agent(on) {
      own.want = on;
      if (own.timer) return;
      const wait = own.last + WHISPER_EVERY_MS - Date.now();
      if (wait > 0) own.timer = setTimeout(flush, wait);
      else flush();
    },
    /** The open conversation changes: take back our "typing", forget who was typing. */
    leave() {
      if (own.sent) {
        own.want = false;
        clearTimeout(own.timer);
        flush();
      }
      clear();
    },
    stop() {
      clearTimeout(own.timer);
      clear();
    },
  };
}
