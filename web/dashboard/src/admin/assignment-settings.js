// admin/assignment-settings.js — owns the "Automatic assignment" part of a widget's editor
// (`settings.assignment`): how conversations handed to a person are given out (off: agents take
// them; round-robin: each online agent in turn; least busy: the one with the fewest open), how
// many open conversations an agent may have before they are passed by, and after how many minutes
// without a reply an assigned conversation goes back to the queue (empty: never). Plain labelled
// fields. The server checks the result; what this part does not show is kept.

import { h } from '../../../shared/ui/dom.js';
import { field } from './kit.js';

const MODES = [
  ['off', 'Off: agents take conversations themselves'],
  ['round_robin', 'Round-robin: each online agent in turn'],
  ['least_busy', 'Least busy: the agent with the fewest open conversations'],
];
const DEFAULT_CAPACITY = 5;

/** The editor for a widget's settings' assignment part: {el, apply(next), problem()}. */
export function createAssignmentSettings(settings) {
  const current = settings.assignment && typeof settings.assignment === 'object' ? settings.assignment : {};
  const mode = h('select', {}, ...MODES.map(([value, text]) => h('option', { value, text })));
  mode.value = MODES.some(([m]) => m === current.mode) ? current.mode : 'off';
  const capacity = h('input', { type: 'number', min: 1, max: 100, step: 1, inputmode: 'numeric', placeholder: String(DEFAULT_CAPACITY) });
  capacity.value = Number.isSafeInteger(current.capacity) ? String(current.capacity) : '';
  const unassign = h('input', { type: 'number', min: 1, max: 1440, step: 1, inputmode: 'numeric', placeholder: 'Never' });
  unassign.value = Number.isSafeInteger(current.unassign_after_mins) ? String(current.unassign_after_mins) : '';

  const el = h(
    'fieldset',
    { class: 'adm-assignment' },
    h('legend', { text: 'Automatic assignment' }),
    field('Assign conversations', mode, 'A conversation the bot hands over goes at once to an online agent who answers this widget and has room, else waits for the first one free.'),
    field('Open conversations per agent', capacity, 'An agent with this many open conversations (every widget counted) is passed by. Empty: 5. A transfer by hand may go past it.'),
    field('Take back after (minutes without a reply)', unassign, 'An assigned conversation nobody answered within this time goes back to the queue and to someone else. Empty: never.'),
  );

  const whole = (input, min, max) => {
    const text = input.value.trim();
    if (!text) return null;
    const n = Number(text);
    return /^\d+$/.test(text) && n >= min && n <= max ? n : NaN;
  };

  return {
    el,
    /** Writes this part into `next` (the settings about to be saved). */
    apply(next) {
      const cap = whole(capacity, 1, 100);
      const mins = whole(unassign, 1, 1440);
      if (mode.value === 'off' && cap == null && mins == null) {
        delete next.assignment;
        return;
      }
      const out = Object.assign({}, current, { mode: mode.value });
      if (cap == null) delete out.capacity;
      else out.capacity = cap;
      out.unassign_after_mins = mins;
      next.assignment = out;
    },
    /** What to fix before saving, with the control to focus; null when nothing. */
    problem() {
      if (Number.isNaN(whole(capacity, 1, 100))) return ['Open conversations per agent: a whole number from 1 to 100, or empty for 5.', capacity];
      if (Number.isNaN(whole(unassign, 1, 1440))) return ['Take back after: a whole number of minutes from 1 to 1440, or empty for never.', unassign];
      return null;
    },
  };
}
