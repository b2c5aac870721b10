// admin/webhooks.js — owns the Admin area's "Webhooks" panel: the addresses Parley POSTs
// conversations' events to, signed with each webhook's secret (docs/agent-api.md, "Webhooks").
// "Add a webhook" takes a URL, the events (none ticked: every event) and a widget (or every
// one); the signing secret is shown once, with a Copy button. Per webhook: "Send test" (a
// `ping`, tried once), its delivery log (state, time, the receiver's response code and the
// start of its answer, newest first, older ones on request, refreshed by itself while
// deliveries are on their way), disable or enable, and delete (after asking).

import { h, formatTime } from '../../../shared/ui/dom.js';
import { busyButton, copyBox, errorLine, field, reason, replaceItems, statusLine, uid } from './kit.js';

// The events a webhook may ask for, as the server names them, with what they mean.
const EVENTS = [
  ['conversation.created', 'A conversation starts'],
  ['message.created', 'A message is sent (visitor, agent or bot)'],
  ['conversation.status_changed', 'Its status changes (bot, human, closed)'],
  ['conversation.assigned', 'It is assigned to someone, or to nobody'],
  ['conversation.rated', 'The visitor rates it'],
];

// A delivery's state, in words.
const STATES = {
  pending: (d) => (d.attempts > 0 ? 'Will retry' : 'Waiting'),
  sending: () => 'Sending',
  delivered: () => 'Delivered',
  failed: () => 'Failed',
  unknown: () => 'Unknown',
};
const FINAL = new Set(['delivered', 'failed', 'unknown']);

const LOG_PAGE = 20;
/** While deliveries are on their way the open log is read again this often, this many times. */
const FOLLOW_EVERY_MS = 1000;
const FOLLOW_TIMES = 30;

const plural = (n, one, many) => n + ' ' + (n === 1 ? one : many);

export function createWebhooksPanel({ admin, widgets, confirm = (text) => window.confirm(text) }) {
  const error = errorLine();
  const status = statusLine();
  const list = h('ul', { class: 'adm-list', 'aria-label': 'Webhooks' });
  const logs = new Map(); // webhook id -> its open log's controller
  let stopped = false;

  // The form.
  const url = h('input', { type: 'url', inputmode: 'url', autocomplete: 'off', spellcheck: 'false', placeholder: 'https://crm.example/hooks/parley' });
  const boxes = EVENTS.map(([name, meaning]) => {
    const box = h('input', { type: 'checkbox', id: uid('ev'), value: name });
    return { box, el: h('div', { class: 'adm-check adm-event' }, box, h('label', { for: box.id }, h('code', { text: name }), ' ', h('span', { class: 'muted', text: meaning }))) };
  });
  const eventsHint = h('p', { class: 'hint', id: uid('evh'), text: 'None ticked: every event, also those added later.' });
  const events = h('fieldset', { class: 'adm-widgets adm-events', 'aria-describedby': eventsHint.id }, h('legend', { text: 'Events' }), ...boxes.map((b) => b.el), eventsHint);
  const widget = h('select', {});
  const formError = errorLine();
  const made = h('div', { class: 'adm-result' });
  const form = h(
    'form',
    { class: 'adm-form', 'aria-label': 'Add a webhook', novalidate: true },
    h('h3', { text: 'Add a webhook' }),
    field('Receiver URL', url, 'An http:// or https:// address. Parley POSTs each event there as JSON.'),
    events,
    field('Widget', widget, 'Only this widget\'s conversations, or every widget\'s.'),
    formError.el,
    h('div', { class: 'adm-row' }, h('button', { type: 'submit', class: 'primary', text: 'Add webhook' })),
    made,
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    formError.set('');
    made.replaceChildren();
    const address = url.value.trim();
    if (!/^https?:\/\/\S+$/i.test(address)) {
      formError.set('Enter the receiver\'s address, starting with https:// or http://.');
      return url.focus();
    }
    const body = { url: address, events: boxes.filter((b) => b.box.checked).map((b) => b.box.value) };
    if (widget.value) body.widget_id = Number(widget.value);
    try {
      const res = await admin.createWebhook(body);
      made.replaceChildren(secret(res));
      url.value = '';
      for (const b of boxes) b.box.checked = false;
      widget.value = '';
      status.set('Webhook for ' + (res.webhook?.url || address) + ' is added.');
      await refresh();
      made.querySelector('.adm-copy-value')?.focus();
    } catch (err) {
      formError.set('Could not add the webhook: ' + reason(err));
      url.focus();
    }
  });

  const el = h(
    'section',
    { class: 'adm-panel', 'aria-labelledby': 'pd-adm-webhooks-title' },
    h('h2', { id: 'pd-adm-webhooks-title', text: 'Webhooks' }),
    h('p', {
      class: 'muted adm-sub',
      text:
        'Parley POSTs conversations\' events to these addresses as they happen, each signed with the webhook\'s secret (X-Parley-Signature: sha256=HMAC of "{X-Parley-Timestamp}.{body}"). A delivery the receiver does not answer with 2xx is tried again for 24 hours; one conversation\'s events arrive in order.',
    }),
    status.el,
    error.el,
    list,
    form,
  );

  /** The secret, shown once. */
  function secret(res) {
    return h(
      'div',
      { class: 'adm-secret' },
      h('p', { class: 'notice', text: 'Webhook for ' + (res.webhook?.url || '') + ' is added. Copy its signing secret now: it is shown only now and cannot be read again.' }),
      copyBox('Signing secret', res.secret || '', { name: 'signing secret' }),
      h('p', { class: 'hint', text: 'Your receiver computes HMAC-SHA256 of the X-Parley-Timestamp header, a dot and the raw body with this secret, compares it with X-Parley-Signature, and refuses timestamps more than five minutes old.' }),
    );
  }

  const widgetName = (id) => {
    const w = widgets.list().find((x) => x.id === id);
    return w ? w.name : 'widget #' + id;
  };

  function arrangeWidgets() {
    const keep = widget.value;
    const live = widgets.list().filter((w) => !w.revoked_at);
    widget.replaceChildren(h('option', { value: '', text: 'Every widget' }), ...live.map((w) => h('option', { value: String(w.id), text: w.name })));
    widget.value = live.some((w) => String(w.id) === keep) ? keep : '';
  }

  function item(hook) {
    const rowError = errorLine();
    const rowStatus = statusLine();
    const on = hook.enabled !== false;
    const what = hook.all_events || !hook.events?.length ? 'Every event' : hook.events.join(', ');
    const where = hook.widget_id == null ? 'every widget' : widgetName(hook.widget_id);
    const logId = uid('log');
    const logBox = h('div', { class: 'adm-log', id: logId, hidden: true });
    const toggle = h('button', { type: 'button', class: 'ghost', text: 'Delivery log', 'aria-expanded': 'false', 'aria-controls': logId, 'aria-label': 'Delivery log of ' + hook.url });
    toggle.addEventListener('click', () => {
      const open = logBox.hidden;
      logBox.hidden = !open;
      toggle.setAttribute('aria-expanded', String(open));
      if (open) {
        const log = deliveryLog(hook, logBox);
        logs.set(hook.id, log);
        log.refresh();
      } else {
        logs.get(hook.id)?.stop();
        logs.delete(hook.id);
      }
    });
    const test = busyButton({ class: 'ghost', text: 'Send test', 'aria-label': 'Send a test to ' + hook.url, disabled: !on }, async () => {
      rowError.set('');
      try {
        await admin.testWebhook(hook.id);
        rowStatus.set('A test is on its way; its result shows in the delivery log.');
        if (logBox.hidden) toggle.click();
        else logs.get(hook.id)?.refresh();
      } catch (err) {
        rowError.set('Could not send a test: ' + reason(err));
      }
    });
    const flip = busyButton({ class: 'ghost', text: on ? 'Disable' : 'Enable', 'aria-label': (on ? 'Disable ' : 'Enable ') + hook.url }, async () => {
      rowError.set('');
      try {
        await admin.updateWebhook(hook.id, { enabled: !on });
        status.set('Webhook for ' + hook.url + (on ? ' is disabled: it is given and sends nothing.' : ' is enabled.'));
        await refresh();
        list.querySelector('[data-webhook-id="' + hook.id + '"] .adm-flip')?.focus();
      } catch (err) {
        rowError.set('Could not change it: ' + reason(err));
      }
    });
    flip.classList.add('adm-flip');
    const remove = busyButton({ class: 'ghost danger', text: 'Delete', 'aria-label': 'Delete the webhook for ' + hook.url }, async () => {
      rowError.set('');
      if (!confirm('Delete the webhook for ' + hook.url + '? Its delivery log goes with it, and what it has not sent yet is dropped.')) return;
      try {
        await admin.deleteWebhook(hook.id);
        status.set('Webhook for ' + hook.url + ' is deleted.');
        await refresh();
        (list.querySelector('.adm-item button') || url).focus();
      } catch (err) {
        rowError.set('Could not delete: ' + reason(err));
      }
    });
    return h(
      'li',
      { class: 'adm-item' + (on ? '' : ' disabled'), 'data-webhook-id': hook.id },
      h('div', { class: 'adm-head' }, h('b', { class: 'adm-url', text: hook.url }), h('span', { class: on ? 'tag on' : 'tag off', text: on ? 'Enabled' : 'Disabled' })),
      h('p', { class: 'muted adm-sub', text: what + ' · ' + where + ' · added ' + formatTime(hook.created_at).long }),
      h('div', { class: 'adm-row' }, test, toggle, flip, remove),
      rowStatus.el,
      rowError.el,
      logBox,
    );
  }

  /** A webhook's delivery log in `box`: refresh(), stop(). */
  function deliveryLog(hook, box) {
    const logError = errorLine();
    const entries = h('ul', { class: 'adm-list adm-deliveries', 'aria-label': 'Deliveries to ' + hook.url });
    const refresh = h('button', { type: 'button', class: 'ghost', text: 'Refresh', 'aria-label': 'Refresh the delivery log of ' + hook.url });
    const older = h('button', { type: 'button', class: 'ghost', text: 'Load older', hidden: true, 'aria-label': 'Load older deliveries to ' + hook.url });
    box.replaceChildren(h('h4', { class: 'adm-log-title', text: 'Delivery log' }), logError.el, entries, h('div', { class: 'adm-row' }, refresh, older));
    let last = null;
    let timer = null;
    let follows = 0;

    function row(d) {
      const state = d.state in STATES ? d.state : 'pending';
      const about = d.event === 'ping' ? 'test delivery' : d.conversation_id != null ? 'conversation #' + d.conversation_id : '';
      const facts = [
        d.response_code != null ? 'HTTP ' + d.response_code : null,
        d.last_attempt_at ? formatTime(d.last_attempt_at).long : 'not sent yet',
        d.duration_ms != null && d.last_attempt_at ? d.duration_ms + ' ms' : null,
        plural(d.attempts || 0, 'attempt', 'attempts'),
        state === 'pending' && d.attempts > 0 && d.next_attempt_at ? 'next ' + formatTime(d.next_attempt_at).short : null,
      ].filter(Boolean);
      return h(
        'li',
        { class: 'adm-item adm-delivery', 'data-delivery-id': d.id, 'data-state': state },
        h('div', { class: 'adm-head' }, h('span', { class: 'tag ' + (state === 'delivered' ? 'on' : state === 'failed' || state === 'unknown' ? 'bad' : 'off'), text: STATES[state](d) }), h('code', { text: d.event }), about ? h('span', { text: about }) : null),
        h('p', { class: 'muted adm-sub', text: facts.join(' · ') }),
        d.error ? h('p', { class: 'adm-sub adm-detail', text: d.error }) : null,
        d.response_snippet ? h('p', { class: 'adm-sub adm-detail', text: 'Answer: ' + d.response_snippet }) : null,
      );
    }

    async function page(reset) {
      logError.set('');
      try {
        const res = await admin.webhookDeliveries(hook.id, reset ? null : last, LOG_PAGE);
        const got = Array.isArray(res?.deliveries) ? res.deliveries : [];
        if (reset) entries.replaceChildren();
        entries.append(...got.map(row));
        if (got.length) last = got[got.length - 1].id;
        older.hidden = !res?.has_more;
        if (reset && !got.length) entries.append(h('li', { class: 'muted adm-none', text: 'Nothing sent yet.' }));
        if (reset) follow(got);
      } catch (err) {
        logError.set('Could not load the delivery log: ' + reason(err));
      }
    }

    /** Reads the first page again while some of it is on its way. */
    function follow(shown) {
      clearTimeout(timer);
      timer = null;
      if (stopped || box.hidden || !shown.some((d) => !FINAL.has(d.state))) {
        follows = 0;
        return;
      }
      if (++follows > FOLLOW_TIMES) return;
      timer = setTimeout(() => page(true), FOLLOW_EVERY_MS);
    }

    refresh.addEventListener('click', () => {
      follows = 0;
      page(true);
    });
    older.addEventListener('click', () => page(false));
    return {
      refresh: () => {
        follows = 0;
        return page(true);
      },
      stop: () => clearTimeout(timer),
    };
  }

  /** Reads the webhooks (and the widgets, once) again; open logs stay open. */
  async function refresh() {
    error.set('');
    stopped = false;
    try {
      if (!widgets.loaded()) await widgets.refresh();
    } catch (err) {
      error.set('Could not load the widgets: ' + reason(err));
    }
    arrangeWidgets();
    try {
      const res = await admin.webhooks();
      const hooks = Array.isArray(res?.webhooks) ? res.webhooks : [];
      const open = new Set(logs.keys());
      for (const log of logs.values()) log.stop();
      logs.clear();
      replaceItems(list, hooks.length ? hooks.map(item) : [h('li', { class: 'muted adm-none', text: 'No webhooks yet.' })]);
      // Logs that were open stay open.
      for (const id of open) list.querySelector('[data-webhook-id="' + id + '"] [aria-controls]')?.click();
    } catch (err) {
      error.set('Could not load the webhooks: ' + reason(err));
    }
  }
  widgets.onChange(() => arrangeWidgets());

  /** The tab is shown: a secret shown earlier is gone. */
  function load() {
    made.replaceChildren();
    return refresh();
  }

  return {
    el,
    load,
    stop() {
      stopped = true;
      for (const log of logs.values()) log.stop();
    },
  };
}
