// admin/hours-settings.js — owns the "Business hours" part of a widget's editor
// (`settings.hours`): whether the widget keeps hours at all (none: always open), its time zone
// (the IANA names the browser knows), each weekday's opening ranges as text ("09:00-12:30,
// 13:30-18:00"; empty: closed) and the holidays, one date per line (closed all day). Plain labelled
// fields, so the keyboard does everything. Outside the hours the widget is "away": the bot
// answers and a visitor who asks for a person leaves an email. The server checks the result.

import { h } from '../../../shared/ui/dom.js';
import { field, lines } from './kit.js';

const DAYS = [
  ['mon', 'Monday'],
  ['tue', 'Tuesday'],
  ['wed', 'Wednesday'],
  ['thu', 'Thursday'],
  ['fri', 'Friday'],
  ['sat', 'Saturday'],
  ['sun', 'Sunday'],
];
const RANGE = /^([01]\d|2[0-4]):([0-5]\d)\s*-\s*([01]\d|2[0-4]):([0-5]\d)$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** The time zones to choose from: the browser's list, UTC, and the one the widget has. */
function timeZones(current) {
  let zones = [];
  try {
    zones = Intl.supportedValuesOf('timeZone');
  } catch {
    zones = [];
  }
  const all = new Set(['UTC', ...zones]);
  if (current) all.add(current);
  return [...all].sort((a, b) => (a === 'UTC' ? -1 : b === 'UTC' ? 1 : a.localeCompare(b)));
}

/** One day's ranges from its text: a list, or the problem with it. */
function rangesOf(text, day) {
  const ranges = [];
  for (const part of String(text || '').split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = RANGE.exec(part);
    if (!m) return [null, day + ': "' + part + '" is not a range such as 09:00-17:00.'];
    const start = Number(m[1]) * 60 + Number(m[2]);
    const end = Number(m[3]) * 60 + Number(m[4]);
    if (start >= 24 * 60 || end > 24 * 60) return [null, day + ': "' + part + '" is not a time of the day.'];
    if (end === start) return [null, day + ': "' + part + '" is empty.'];
    if (end < start) return [null, day + ': "' + part + '" ends before it starts. A range cannot run past midnight: end this day at 24:00 and start the next at 00:00.'];
    ranges.push(m[1] + ':' + m[2] + '-' + m[3] + ':' + m[4]);
  }
  return [ranges, null];
}

/** The editor for a widget's business hours: {el, apply(next), problem()}. */
export function createHoursSettings(settings) {
  const current = settings.hours && typeof settings.hours === 'object' ? settings.hours : null;
  const on = h('input', { type: 'checkbox', id: 'pd-adm-hours-on-' + Math.random().toString(36).slice(2, 8) });
  on.checked = !!current;
  const zone = h('select', {}, ...timeZones(current?.time_zone).map((z) => h('option', { value: z, text: z.replace(/_/g, ' ') })));
  let browserZone = 'UTC';
  try {
    browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    /* keep UTC */
  }
  zone.value = current?.time_zone || browserZone;
  const weekly = current?.weekly && typeof current.weekly === 'object' ? current.weekly : {};
  const days = DAYS.map(([key, name]) => {
    const input = h('input', { type: 'text', spellcheck: 'false', autocomplete: 'off', placeholder: 'Closed', 'data-day': key });
    input.value = Array.isArray(weekly[key]) ? weekly[key].join(', ') : '';
    return { key, name, input };
  });
  const holidays = h('textarea', { rows: 3, spellcheck: 'false', placeholder: '2026-12-25' });
  holidays.value = Array.isArray(current?.holidays) ? current.holidays.join('\n') : '';
  const sameWeek = h('button', { type: 'button', class: 'ghost', text: 'Copy Monday to Tuesday-Friday' });
  sameWeek.addEventListener('click', () => {
    for (const d of days.slice(1, 5)) d.input.value = days[0].input.value;
    days[1].input.focus();
  });

  const dayHint = h('p', { class: 'hint', id: on.id + '-days', text: 'Each day: ranges such as 09:00-12:30, 13:30-18:00; empty: closed. A range ends the same day (24:00 is midnight); a night shift is 22:00-24:00 one day and 00:00-02:00 the next.' });
  for (const d of days) d.input.setAttribute('aria-describedby', dayHint.id);
  const body = h(
    'div',
    { class: 'adm-bot-kind' },
    field('Time zone', zone, 'The hours below are in this time zone; visitors see the times in their own.'),
    h('div', { class: 'adm-grid', role: 'group', 'aria-label': 'Opening hours per day' }, ...days.map((d) => field(d.name, d.input))),
    dayHint,
    h('div', { class: 'adm-row' }, sameWeek),
    field('Holidays', holidays, 'One date per line (YYYY-MM-DD), closed all day.'),
  );
  const showBody = () => (body.hidden = !on.checked);
  on.addEventListener('change', showBody);
  showBody();

  const el = h(
    'fieldset',
    { class: 'adm-hours' },
    h('legend', { text: 'Business hours' }),
    h('p', { class: 'hint', text: 'Outside these hours the widget says the team is away and when it is back; the bot still answers, and a visitor who asks for a person leaves an email for your reply. Without hours the widget is always open.' }),
    h('div', { class: 'adm-field adm-check' }, on, h('label', { for: on.id, text: 'Keep business hours' })),
    body,
  );

  /** The hours as settings.hours, or [problem, field to focus]. */
  function read() {
    const out = { time_zone: zone.value, weekly: {} };
    for (const d of days) {
      const [ranges, problem] = rangesOf(d.input.value, d.name);
      if (problem) return [null, [problem, d.input]];
      if (ranges.length) out.weekly[d.key] = ranges;
    }
    const dates = lines(holidays.value);
    const bad = dates.find((d) => !DATE.test(d) || Number.isNaN(Date.parse(d + 'T00:00:00Z')));
    if (bad) return [null, ['Holidays: "' + bad + '" is not a date such as 2026-12-25.', holidays]];
    if (dates.length) out.holidays = dates;
    return [out, null];
  }

  return {
    el,
    /** What is wrong, as [message, control to focus], or null. */
    problem: () => (on.checked ? read()[1] : null),
    /** Puts the hours into `next` (a copy of the widget's settings), or takes them out. */
    apply(next) {
      if (on.checked) next.hours = read()[0];
      else delete next.hours;
    },
  };
}
