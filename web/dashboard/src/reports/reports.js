// reports/reports.js — owns the Reports view (everyone signed in; the header's "Reports"
// button opens it): a full-page dialog asking GET /api/agent/reports for a range of days in the
// browser's time zone, one widget or all, and (admins) one agent or all; it shows the figures,
// a chart of conversations per day and one of the busiest hours (each with the same numbers as
// a table, the charts' text alternative), the figures per widget and per agent, and downloads
// the same report as CSV. An agent sees their own conversations only (the server decides).
// Escape or "Close" go back, and the focus returns to the header's button.

import { h } from '../../../shared/ui/dom.js';
import { barChart } from './charts.js';
import { ensureReportStyles } from './style.js';

/** The browser's IANA time zone, if it has one. */
export function browserZone() {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || '';
  } catch {
    return '';
  }
}

// ---- numbers in words -------------------------------------------------------------------------

const NONE = 'None yet';

/** "45 s", "1 min 30 s", "2 h 5 min", "3 d 4 h"; NONE for null. */
export function duration(seconds) {
  if (seconds == null) return NONE;
  if (seconds < 60) return (Math.round(seconds * 10) / 10).toString() + ' s';
  const s = Math.round(seconds);
  const d = Math.floor(s / 86400);
  const hr = Math.floor((s % 86400) / 3600);
  const min = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (d) return d + ' d' + (hr ? ' ' + hr + ' h' : '');
  if (hr) return hr + ' h' + (min ? ' ' + min + ' min' : '');
  return min + ' min' + (sec ? ' ' + sec + ' s' : '');
}

/** "62.5%", "50%"; NONE for null. */
export function percent(rate) {
  if (rate == null) return NONE;
  return String(Math.round(rate * 1000) / 10) + '%';
}

const plural = (n, one, many) => n + ' ' + (n === 1 ? one : many);

/** "1 May" for "2024-05-01" (the date as it is, whatever the browser's zone). */
function shortDate(date) {
  const [y, m, d] = date.split('-').map(Number);
  return new Date(Date.UTC(y, m - 1, d)).toLocaleDateString(undefined, { day: 'numeric', month: 'short', timeZone: 'UTC' });
}

function longDate(date) {
  const [y, m, d] = date.split('-').map(Number);
  return new Date(Date.UTC(y, m - 1, d)).toLocaleDateString(undefined, { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' });
}

const hourLabel = (hour) => String(hour).padStart(2, '0') + ':00';

// ---- the view ---------------------------------------------------------------------------------

let seq = 0;

/**
 * @param {object} o
 * @param {object} o.api the workspace's client (request)
 * @param {object} o.credential how the person is signed in (for the CSV download)
 * @param {boolean} o.admin whether they may narrow to an agent
 */
export function createReports({ api, credential, admin = false }) {
  ensureReportStyles();
  let el = null;
  let opener = null;
  let parts = null;
  let charts = [];
  let asked = 0;
  let loaded = false;
  const zone = browserZone();

  function build() {
    const id = (name) => 'pd-rep-' + name + '-' + ++seq;
    const from = h('input', { type: 'date', id: id('from'), name: 'from', required: true });
    const to = h('input', { type: 'date', id: id('to'), name: 'to', required: true });
    const widget = h('select', { id: id('widget'), name: 'widget_id' }, h('option', { value: '', text: 'All widgets' }));
    const agent = h('select', { id: id('agent'), name: 'agent_id' }, h('option', { value: '', text: 'All agents' }));
    const field = (label, control, extra) => h('div', { class: 'rep-field' + (extra || '') }, h('label', { for: control.id, text: label }), control);
    const show = h('button', { type: 'submit', class: 'primary', text: 'Show' });
    const csv = h('button', { type: 'button', class: 'ghost', text: 'Download CSV' });
    const form = h(
      'form',
      { class: 'rep-filters', 'aria-label': 'Report settings' },
      field('From', from),
      field('To', to),
      field('Widget', widget),
      admin ? field('Agent', agent) : null,
      h('div', { class: 'rep-actions' }, show, csv),
    );
    const scope = h('p', { class: 'hint rep-scope' });
    const status = h('p', { class: 'muted rep-status', role: 'status' });
    const error = h('p', { class: 'error rep-error', role: 'alert' });
    const cards = h('dl', { class: 'rep-cards' });
    const daily = h('div', { class: 'rep-figure' });
    const hourly = h('div', { class: 'rep-figure' });
    const widgets = h('div', { class: 'rep-breakdown' });
    const agents = h('div', { class: 'rep-breakdown' });
    const section = (title, ...children) => {
      const heading = h('h2', { id: id('h'), text: title });
      return h('section', { class: 'rep-section', 'aria-labelledby': heading.id }, heading, ...children);
    };
    const results = h(
      'div',
      { class: 'rep-results', hidden: true },
      section('Figures', cards),
      h('div', { class: 'rep-charts' }, section('Conversations per day', daily), section('Busiest hours', hourly)),
      section('Per widget', widgets),
      admin ? section('Per agent', agents) : null,
    );
    const close = h('button', { type: 'button', class: 'ghost', text: 'Close', 'aria-label': 'Close the reports' });
    el = h(
      'dialog',
      { class: 'reports-dialog', 'aria-labelledby': 'pd-rep-title' },
      h('div', { class: 'rep-top' }, h('h1', { id: 'pd-rep-title', text: 'Reports' }), h('div', { class: 'spacer' }), close),
      h('div', { class: 'rep-body' }, form, scope, status, error, results),
    );
    close.addEventListener('click', () => el.close());
    el.addEventListener('close', () => opener?.focus());
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      load();
    });
    csv.addEventListener('click', () => download());
    parts = { from, to, widget, agent, show, csv, scope, status, error, cards, daily, hourly, widgets, agents, results };
    document.body.append(el);
  }

  /** The query for the form as it is (empty on the first load: the server's last 30 days). */
  function query(format) {
    const q = new URLSearchParams();
    if (loaded) {
      if (parts.from.value) q.set('from', parts.from.value);
      if (parts.to.value) q.set('to', parts.to.value);
      if (parts.widget.value) q.set('widget_id', parts.widget.value);
      if (admin && parts.agent.value) q.set('agent_id', parts.agent.value);
    }
    if (zone) q.set('tz', zone);
    if (format) q.set('format', format);
    return '?' + q.toString();
  }

  function setChoices(select, items, all, label) {
    const chosen = select.value;
    select.replaceChildren(h('option', { value: '', text: all }), ...items.map((item) => h('option', { value: String(item.id), text: label(item) })));
    select.value = items.some((item) => String(item.id) === chosen) ? chosen : '';
  }

  async function load() {
    const mine = ++asked;
    const { status, error, show } = parts;
    if (loaded && parts.from.value && parts.to.value && parts.from.value > parts.to.value) {
      error.textContent = 'The first day must not be after the last.';
      parts.from.focus();
      return;
    }
    error.textContent = '';
    status.textContent = 'Loading the report…';
    show.disabled = true;
    try {
      const report = await api.request('GET', '/api/agent/reports' + query());
      if (mine !== asked || !el.open) return;
      loaded = true;
      render(report);
    } catch (err) {
      if (mine !== asked) return;
      status.textContent = '';
      error.textContent = 'Could not load the report: ' + (err?.status === 0 ? 'cannot reach the server.' : err?.message || err?.code || 'something went wrong.');
    } finally {
      if (mine === asked) show.disabled = false;
    }
  }

  async function download() {
    const { error, csv } = parts;
    error.textContent = '';
    csv.disabled = true;
    try {
      const init = { cache: 'no-store', headers: { Accept: 'text/csv' } };
      if (credential?.kind === 'session') init.credentials = 'same-origin';
      else {
        init.credentials = 'omit';
        if (credential?.token) init.headers.Authorization = 'Bearer ' + credential.token;
      }
      const res = await fetch(api.base + '/api/agent/reports' + query('csv'), init);
      if (!res.ok) {
        let message = 'the server answered ' + res.status;
        try {
          message = (await res.json())?.error?.message || message;
        } catch {
          /* not JSON */
        }
        throw new Error(message);
      }
      const blob = await res.blob();
      const name = /filename="([^"]+)"/.exec(res.headers.get('Content-Disposition') || '')?.[1] || 'parley-report.csv';
      const url = URL.createObjectURL(blob);
      const a = h('a', { href: url, download: name, hidden: true });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
      parts.status.textContent = 'Downloaded ' + name + '.';
    } catch (err) {
      error.textContent = 'Could not download the CSV: ' + (err?.message || 'no answer from the server.');
    } finally {
      csv.disabled = false;
    }
  }

  // ---- drawing ----------------------------------------------------------------------------------

  function card(label, value, detail) {
    return h('div', { class: 'rep-card' }, h('dt', { text: label }), h('dd', {}, h('span', { class: 'rep-value', text: value }), detail ? h('span', { class: 'rep-detail', text: detail }) : null));
  }

  function csat(f) {
    return f.csat_average == null ? 'No ratings' : String(Math.round(f.csat_average * 100) / 100) + ' / 5';
  }

  function figureCards(t) {
    return [
      card('Conversations', String(t.conversations), 'started in these days'),
      card('Resolved by the bot', percent(t.bot_resolution_rate), t.conversations ? t.resolved_by_bot + ' of ' + t.conversations + ', without an agent' : ''),
      card('Handoff rate', percent(t.handoff_rate), t.conversations ? t.handoffs + ' of ' + t.conversations + ' went to an agent' : ''),
      card('Median first response', duration(t.median_first_response_seconds), t.first_responses ? 'over ' + plural(t.first_responses, 'first reply', 'first replies') : ''),
      card('Median resolution time', duration(t.median_resolution_seconds), t.closed ? 'over ' + plural(t.closed, 'closed conversation', 'closed conversations') : ''),
      card('Satisfaction (CSAT)', csat(t), t.ratings ? 'average of ' + plural(t.ratings, 'rating', 'ratings') : ''),
    ];
  }

  /** A table in a region that scrolls sideways on a phone (and by keyboard: it takes focus). */
  function table(caption, head, rows) {
    const t = h(
      'table',
      { class: 'rep-table' },
      h('caption', { class: 'sr', text: caption }),
      h('thead', {}, h('tr', {}, head.map((c, i) => h('th', { scope: 'col', class: i ? 'num' : null, text: c })))),
      h('tbody', {}, rows.map((r) => h('tr', {}, r.map((c, i) => (i ? h('td', { class: 'num', text: c }) : h('th', { scope: 'row', text: c })))))),
    );
    return h('div', { class: 'rep-scroll', role: 'region', 'aria-label': caption, tabindex: '0' }, t);
  }

  function breakdown(rows, nameOf, caption) {
    if (!rows.length) return [h('p', { class: 'muted', text: 'No conversations in these days.' })];
    return [
      table(
        caption,
        ['Name', 'Conversations', 'Resolved by the bot', 'Handoff rate', 'Median first response', 'Median resolution', 'CSAT'],
        rows.map((r) => [nameOf(r), String(r.conversations), percent(r.bot_resolution_rate), percent(r.handoff_rate), duration(r.median_first_response_seconds), duration(r.median_resolution_seconds), csat(r)]),
      ),
    ];
  }

  /** A chart and its numbers as a table (the chart's text alternative, open on request). */
  function chartWithTable(box, title, labels, tableLabels, conversations, handoffs, firstColumn) {
    const chart = barChart({ labels, bars: { label: 'Conversations', values: conversations }, line: { label: 'Went to an agent', values: handoffs } });
    charts.push(chart);
    const total = conversations.reduce((a, b) => a + b, 0);
    const summary = title + ': ' + plural(total, 'conversation', 'conversations') + ' in all.';
    box.replaceChildren(
      h('figure', { class: 'rep-chart-figure' }, chart.el, h('figcaption', { class: 'hint', text: summary })),
      h('details', { class: 'rep-details' }, h('summary', { text: 'Show ' + title.toLowerCase() + ' as a table' }), table(title + ' as a table', [firstColumn, 'Conversations', 'Went to an agent'], tableLabels.map((l, i) => [l, String(conversations[i]), String(handoffs[i])]))),
    );
    requestAnimationFrame(() => chart.draw());
  }

  function render(report) {
    for (const c of charts.splice(0)) c.destroy();
    const { from, to, widget, agent, scope, status, cards, daily, hourly, widgets, agents, results } = parts;
    const range = report.range || {};
    from.value = range.first_day || '';
    to.value = range.last_day || '';
    setChoices(widget, report.choices?.widgets || [], 'All widgets', (w) => w.name + (w.revoked ? ' (revoked)' : ''));
    if (admin) setChoices(agent, report.choices?.agents || [], 'All agents', (a) => a.name);
    widget.value = report.filters?.widget_id != null ? String(report.filters.widget_id) : '';
    if (admin) agent.value = report.filters?.agent_id != null ? String(report.filters.agent_id) : '';

    const days = range.first_day === range.last_day ? longDate(range.first_day) : longDate(range.first_day) + ' to ' + longDate(range.last_day);
    const whose = admin ? (report.filters?.agent_id != null ? 'One agent’s conversations' : 'Every conversation') : 'Your conversations';
    scope.textContent = whose + ' started ' + days + ', times in ' + (range.tz || 'UTC') + '.';
    status.textContent = 'Report for ' + days + ' shown.';

    cards.replaceChildren(...figureCards(report.totals));
    const byDay = report.by_day || [];
    chartWithTable(
      daily,
      'Conversations per day',
      byDay.map((d) => shortDate(d.date)),
      byDay.map((d) => longDate(d.date)),
      byDay.map((d) => d.conversations),
      byDay.map((d) => d.handoffs),
      'Day',
    );
    const hours = report.busiest_hours || [];
    chartWithTable(
      hourly,
      'Busiest hours',
      hours.map((x) => String(x.hour).padStart(2, '0')),
      hours.map((x) => hourLabel(x.hour)),
      hours.map((x) => x.conversations),
      hours.map((x) => x.handoffs),
      'Hour',
    );
    widgets.replaceChildren(...breakdown(report.by_widget || [], (w) => w.name, 'Figures per widget'));
    if (admin) agents.replaceChildren(...breakdown(report.by_agent || [], (a) => a.name, 'Figures per agent'));
    results.hidden = false;
  }

  return {
    get isOpen() {
      return !!el?.open;
    },
    /** Opens the view (loading the last 30 days the first time); `from` gets the focus back. */
    open(from) {
      if (!el) build();
      opener = from || document.activeElement;
      if (!el.open) el.showModal();
      parts.from.focus();
      if (!loaded) return load();
      return Promise.resolve();
    },
    stop() {
      for (const c of charts.splice(0)) c.destroy();
      if (el?.open) el.close();
      el?.remove();
      el = null;
      loaded = false;
    },
  };
}
