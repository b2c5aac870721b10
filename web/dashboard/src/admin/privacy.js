// admin/privacy.js — owns the Admin area's "Privacy" panel: find one visitor (by the email they
// gave, on one widget or all; by conversation number; or by verified user id on a widget), then
// "Export" shows what is stored about them (their conversations, with messages and files) and
// saves it as a JSON file, and "Erase…" says how much would go, asks, and erases it all, files
// included (GET /api/admin/visitors/export, POST /api/admin/visitors/erase). Open dashboards and
// the visitor's widget drop an erased conversation by themselves (ConversationErased).

import { h, formatTime } from '../../../shared/ui/dom.js';
import { busyButton, errorLine, field, reason, statusLine } from './kit.js';

const BY = [
  ['email', 'Email', 'Email the visitor gave'],
  ['conversation', 'Conversation number', 'Conversation number'],
  ['user', 'Verified user id', 'Verified user id'],
];

const plural = (n, one, many) => n + ' ' + (n === 1 ? one : many);

export function createPrivacyPanel({ admin, widgets, confirm = (text) => window.confirm(text), save = saveFile }) {
  const error = errorLine();
  const status = statusLine();
  const by = h('select', {}, ...BY.map(([value, text]) => h('option', { value, text })));
  const value = h('input', { type: 'text', autocomplete: 'off', spellcheck: 'false', autocapitalize: 'off' });
  const valueField = field('Email the visitor gave', value);
  const widget = h('select', {});
  const widgetField = field('Widget', widget, 'Every widget, or only one. A verified user id belongs to one widget\'s site.');
  const result = h('div', { class: 'adm-result' });
  const exportButton = h('button', { type: 'submit', class: 'primary', text: 'Export' });
  const eraseButton = busyButton({ class: 'ghost danger', text: 'Erase…' }, () => erase());
  const form = h(
    'form',
    { class: 'adm-form', 'aria-label': 'Find a visitor', novalidate: true },
    h('h3', { text: 'Find a visitor' }),
    h('div', { class: 'adm-grid' }, field('Find by', by), valueField, widgetField),
    error.el,
    h('div', { class: 'adm-row' }, exportButton, eraseButton),
  );
  const el = h(
    'section',
    { class: 'adm-panel', 'aria-labelledby': 'pd-adm-privacy-title' },
    h('h2', { id: 'pd-adm-privacy-title', text: 'Privacy' }),
    h('p', { class: 'muted adm-sub', text: 'Export or erase everything stored about one visitor: their conversations, messages, files, reactions, read marks and ratings. Both are kept in the audit log, without the email or user id.' }),
    form,
    status.el,
    result,
  );

  /** The label, the input's kind and which widgets may be chosen follow "Find by". */
  function arrange() {
    const kind = by.value;
    valueField.querySelector('label').textContent = BY.find(([v]) => v === kind)[2];
    value.type = kind === 'email' ? 'email' : 'text';
    value.inputMode = kind === 'conversation' ? 'numeric' : '';
    widgetField.hidden = kind === 'conversation';
    const keep = widget.value;
    const all = widgets.list();
    widget.replaceChildren(
      h('option', { value: '', text: kind === 'user' ? 'Choose a widget' : 'Every widget' }),
      ...all.map((w) => h('option', { value: String(w.id), text: w.name + (w.revoked_at ? ' (revoked)' : '') })),
    );
    widget.value = all.some((w) => String(w.id) === keep) ? keep : '';
  }
  by.addEventListener('change', () => {
    arrange();
    error.set('');
  });

  /** The selection as the API takes it, or null (and the reason shown) when incomplete. */
  function selection() {
    error.set('');
    const text = value.value.trim();
    const kind = by.value;
    let chosen = null;
    if (kind === 'email' && !/^[^\s@]+@[^\s@]+$/.test(text)) error.set('Enter the email the visitor gave, such as someone@example.com.');
    else if (kind === 'conversation' && !/^\d+$/.test(text)) error.set('Enter the conversation\'s number, such as 42.');
    else if (kind === 'user' && !text) error.set('Enter the user id the site gave them.');
    else if (kind === 'user' && !widget.value) {
      error.set('Choose the widget whose site names this user.');
      widget.focus();
      return null;
    } else if (kind === 'conversation') chosen = { conversation_id: Number(text) };
    else chosen = Object.assign(kind === 'email' ? { email: text } : { user_id: text }, widget.value ? { widget_id: Number(widget.value) } : {});
    if (!chosen) value.focus();
    return chosen;
  }

  /** Who was asked for, in words. */
  function whom(sel) {
    if (sel.conversation_id != null) return 'conversation #' + sel.conversation_id;
    const where = sel.widget_id != null ? ' on ' + (widgets.list().find((w) => w.id === sel.widget_id)?.name || 'widget #' + sel.widget_id) : '';
    return (sel.email != null ? sel.email : 'user ' + sel.user_id) + where;
  }

  function totals(conversations) {
    let messages = 0;
    let files = 0;
    for (const c of conversations) {
      messages += Array.isArray(c.messages) ? c.messages.length : 0;
      files += Array.isArray(c.attachments) ? c.attachments.length : 0;
    }
    return plural(conversations.length, 'conversation', 'conversations') + ', ' + plural(messages, 'message', 'messages') + ', ' + plural(files, 'file', 'files');
  }

  function summary(sel, res) {
    const conversations = Array.isArray(res?.conversations) ? res.conversations : [];
    if (!conversations.length) return h('p', { class: 'notice', text: 'Nothing is stored about ' + whom(sel) + '.' });
    const again = h('button', { type: 'button', class: 'ghost', text: 'Save the export again' });
    again.addEventListener('click', () => save(res, sel));
    return h(
      'div',
      { class: 'adm-privacy-found' },
      h('p', { class: 'notice', text: 'Stored about ' + whom(sel) + ': ' + totals(conversations) + '. The export was saved as a JSON file.' }),
      h(
        'ul',
        { class: 'adm-list', 'aria-label': 'Their conversations' },
        ...conversations.map((c) => {
          const conv = c.conversation || {};
          const name = [conv.visitor_name, conv.visitor_email].filter(Boolean).join(' · ') || 'Visitor';
          const w = widgets.list().find((x) => x.id === conv.widget_id);
          return h(
            'li',
            { class: 'adm-item', 'data-conversation-id': conv.id },
            h('div', { class: 'adm-head' }, h('b', { text: '#' + conv.id }), h('span', { text: name })),
            h('p', { class: 'muted adm-sub', text: [w ? w.name : 'Widget #' + conv.widget_id, 'started ' + formatTime(conv.created_at).long, plural((c.messages || []).length, 'message', 'messages'), plural((c.attachments || []).length, 'file', 'files')].join(' · ') }),
          );
        }),
      ),
      h('div', { class: 'adm-row' }, again),
    );
  }

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const sel = selection();
    if (!sel) return;
    status.set('');
    exportButton.disabled = true;
    try {
      const res = await admin.exportVisitor(sel);
      if (res?.conversations?.length) save(res, sel);
      result.replaceChildren(summary(sel, res));
      status.set('Export of ' + whom(sel) + ': ' + totals(res?.conversations || []) + '.');
    } catch (err) {
      error.set('Could not export: ' + reason(err));
    } finally {
      exportButton.disabled = false;
    }
  });

  async function erase() {
    const sel = selection();
    if (!sel) return;
    status.set('');
    try {
      // How much would go, so the question says it.
      const found = await admin.exportVisitor(sel);
      const conversations = Array.isArray(found?.conversations) ? found.conversations : [];
      if (!conversations.length) {
        result.replaceChildren(h('p', { class: 'notice', text: 'Nothing is stored about ' + whom(sel) + '.' }));
        status.set('Nothing to erase.');
        return;
      }
      if (!confirm('Erase everything stored about ' + whom(sel) + ': ' + totals(conversations) + '? This cannot be undone.')) return;
      const res = await admin.eraseVisitor(sel);
      const erased = res?.erased || {};
      const count = Array.isArray(erased.conversations) ? erased.conversations.length : 0;
      const said =
        'Erased ' + plural(count, 'conversation', 'conversations') + ' of ' + whom(sel) + ': ' + plural(erased.messages || 0, 'message', 'messages') + ', ' + plural(erased.files_removed || 0, 'file', 'files') + ' removed.';
      result.replaceChildren(h('p', { class: 'notice', text: said }));
      status.set(said);
      value.value = '';
      value.focus();
    } catch (err) {
      error.set('Could not erase: ' + reason(err));
    }
  }

  async function load() {
    try {
      if (!widgets.loaded()) await widgets.refresh();
    } catch (err) {
      error.set('Could not load the widgets: ' + reason(err));
    }
    arrange();
  }
  widgets.onChange(() => arrange());

  return { el, load };
}

/** Saves an export as a JSON file named after who it is about and the day. */
export function saveFile(res, sel) {
  const copy = Object.assign({}, res);
  delete copy.success;
  const about = sel.conversation_id != null ? 'conversation-' + sel.conversation_id : sel.email != null ? sel.email.toLowerCase() : 'user-' + sel.user_id;
  const name = ('parley-export-' + about + '-' + new Date().toISOString().slice(0, 10)).replace(/[^\w.@-]+/g, '_') + '.json';
  const url = URL.createObjectURL(new Blob([JSON.stringify(copy, null, 2) + '\n'], { type: 'application/json' }));
  const a = h('a', { href: url, download: name, hidden: true });
  // Inside the open (modal) Admin dialog, where the page is not inert.
  (document.querySelector('dialog[open]') || document.body).append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}
