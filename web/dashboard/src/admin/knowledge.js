// admin/knowledge.js — owns the Admin area's "Knowledge" panel: for the chosen widget, the bot's
// own entries (searchable: GET …/knowledge?q=), adding, editing and deleting an entry (questions
// one per line, and the answer), and "Try the bot": what the knowledge bot would match for a
// message, its score against the threshold, and whether it would answer.

import { h } from '../../../shared/ui/dom.js';
import { busyButton, errorLine, field, lines, reason, replaceItems, statusLine } from './kit.js';

const SEARCH_PAUSE_MS = 250;

export function createKnowledgePanel({ admin, widgets, confirm = (text) => window.confirm(text) }) {
  const error = errorLine();
  const status = statusLine();
  const picker = h('select', {});
  const search = h('input', { type: 'search', autocomplete: 'off', spellcheck: 'false' });
  const list = h('ul', { class: 'adm-list', 'aria-label': 'Entries' });
  let widgetId = null;
  let editing = null; // the index being edited, or null: a new entry
  let searchTimer = null;

  // ---- the entry form (add, or edit one) ----
  const formTitle = h('h3', { text: 'Add an entry' });
  const questions = h('textarea', { rows: 3 });
  const answer = h('textarea', { rows: 4 });
  const formError = errorLine();
  const submit = h('button', { type: 'submit', class: 'primary', text: 'Add entry' });
  const cancel = h('button', { type: 'button', class: 'ghost', text: 'Cancel', hidden: true });
  const form = h(
    'form',
    { class: 'adm-form', 'aria-label': 'Knowledge entry', novalidate: true },
    formTitle,
    field('Questions', questions, 'One per line: the ways visitors ask it.'),
    field('Answer', answer),
    formError.el,
    h('div', { class: 'adm-row' }, submit, cancel),
  );
  function resetForm() {
    editing = null;
    formTitle.textContent = 'Add an entry';
    submit.textContent = 'Add entry';
    cancel.hidden = true;
    questions.value = '';
    answer.value = '';
    formError.set('');
  }
  cancel.addEventListener('click', () => {
    resetForm();
    questions.focus();
  });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    formError.set('');
    const entry = { questions: lines(questions.value), answer: answer.value.trim() };
    if (!entry.questions.length) {
      formError.set('Write at least one question.');
      return questions.focus();
    }
    if (!entry.answer) {
      formError.set('Write the answer.');
      return answer.focus();
    }
    try {
      if (editing == null) await admin.addEntry(widgetId, entry);
      else await admin.updateEntry(widgetId, editing, entry);
      status.set(editing == null ? 'Entry added.' : 'Entry saved.');
      resetForm();
      await loadEntries();
    } catch (err) {
      formError.set('Could not save the entry: ' + reason(err));
    }
  });

  // ---- try the bot ----
  const tryInput = h('input', { type: 'text', autocomplete: 'off' });
  const tryResult = h('div', { class: 'adm-try-result', role: 'status' });
  const tryForm = h(
    'form',
    { class: 'adm-form', 'aria-label': 'Try the bot', novalidate: true },
    h('h3', { text: 'Try the bot' }),
    field('A visitor asks', tryInput),
    h('div', { class: 'adm-row' }, h('button', { type: 'submit', class: 'primary', text: 'Try' })),
    tryResult,
  );
  tryForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    const message = tryInput.value.trim();
    if (!message) return tryInput.focus();
    tryResult.replaceChildren(h('p', { class: 'muted', text: 'Asking…' }));
    try {
      const res = await admin.tryBot(widgetId, message);
      const score = Number(res.score);
      const facts = h(
        'dl',
        { class: 'facts' },
        h('dt', { text: 'Would answer' }),
        h('dd', { class: 'adm-verdict', text: res.answers ? 'Yes' : 'No' }),
        h('dt', { text: 'Score' }),
        h('dd', { text: (Number.isFinite(score) ? score.toFixed(2) : '—') + ' (threshold ' + res.threshold + ')' }),
        h('dt', { text: 'Matched' }),
        h('dd', { text: res.matched ? (res.matched.questions || []).join(' · ') : 'Nothing' }),
        res.matched ? [h('dt', { text: 'Answer' }), h('dd', { class: 'adm-answer', text: res.matched.answer || '' })] : null,
      );
      tryResult.replaceChildren(facts);
    } catch (err) {
      tryResult.replaceChildren(h('p', { class: 'error', text: 'Could not try the bot: ' + reason(err) }));
    }
  });

  const body = h('div', { class: 'adm-knowledge' }, field('Search entries', search), list, form, tryForm);
  const empty = h('p', { class: 'muted', text: 'Create a widget first.' });
  const el = h(
    'section',
    { class: 'adm-panel', 'aria-labelledby': 'pd-adm-knowledge-title' },
    h('h2', { id: 'pd-adm-knowledge-title', text: 'Knowledge' }),
    field('Widget', picker),
    status.el,
    error.el,
    empty,
    body,
  );

  picker.addEventListener('change', () => {
    widgetId = Number(picker.value);
    resetForm();
    tryResult.replaceChildren();
    loadEntries();
  });
  search.addEventListener('input', () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(loadEntries, SEARCH_PAUSE_MS);
  });

  function entryItem(entry) {
    const edit = h('button', { type: 'button', class: 'ghost', text: 'Edit', 'aria-label': 'Edit entry ' + (entry.index + 1) });
    edit.addEventListener('click', () => {
      editing = entry.index;
      formTitle.textContent = 'Edit entry ' + (entry.index + 1);
      submit.textContent = 'Save entry';
      cancel.hidden = false;
      questions.value = (entry.questions || []).join('\n');
      answer.value = entry.answer || '';
      questions.focus();
    });
    const del = busyButton({ class: 'ghost danger', text: 'Delete', 'aria-label': 'Delete entry ' + (entry.index + 1) }, async () => {
      if (!confirm('Delete this entry? The bot stops answering from it at once.')) return;
      try {
        await admin.deleteEntry(widgetId, entry.index);
        if (editing === entry.index) resetForm();
        status.set('Entry deleted.');
        await loadEntries();
      } catch (err) {
        error.set('Could not delete the entry: ' + reason(err));
      }
    });
    return h(
      'li',
      { class: 'adm-item', 'data-index': entry.index },
      h('p', { class: 'adm-questions' }, h('b', { text: (entry.questions || []).join(' · ') })),
      h('p', { class: 'adm-sub', text: entry.answer || '' }),
      h('div', { class: 'adm-row' }, edit, del),
    );
  }

  async function loadEntries() {
    if (widgetId == null) return;
    error.set('');
    try {
      const res = await admin.knowledge(widgetId, search.value.trim());
      const entries = Array.isArray(res?.entries) ? res.entries : [];
      replaceItems(list, entries.map(entryItem));
      if (!entries.length) list.append(h('li', { class: 'muted adm-none', text: search.value.trim() ? 'No entry contains that text.' : 'No entries yet.' }));
    } catch (err) {
      error.set('Could not load the knowledge: ' + reason(err));
    }
  }

  async function load() {
    try {
      await widgets.refresh();
    } catch (err) {
      return error.set('Could not load the widgets: ' + reason(err));
    }
    const live = widgets.list().filter((w) => !w.revoked_at);
    picker.replaceChildren(...live.map((w) => h('option', { value: w.id, text: w.name + ' (#' + w.id + ')' })));
    empty.hidden = live.length > 0;
    body.hidden = live.length === 0;
    picker.disabled = live.length === 0;
    if (!live.length) return;
    if (!live.some((w) => w.id === widgetId)) {
      widgetId = live[0].id;
      resetForm();
    }
    picker.value = String(widgetId);
    await loadEntries();
  }

  return { el, load, stop: () => clearTimeout(searchTimer) };
}
