// admin/labels.js — owns the Admin area's Labels tab: the labels agents put on conversations,
// each with its colour, renamed or recoloured in place and deleted (which takes it off every
// conversation, after asking); a form makes a new one. Open dashboards follow at once
// (LabelsChanged).

import { h } from '../../../shared/ui/dom.js';
import { busyButton, errorLine, field, reason, replaceItems, statusLine } from './kit.js';
import { labelChips } from '../ui/labels.js';

const DEFAULT_COLOR = '#2563eb';

export function createLabelsPanel({ admin, confirm = (text) => window.confirm(text) }) {
  const error = errorLine();
  const status = statusLine();
  const list = h('ul', { class: 'adm-list', 'aria-label': 'Labels' });
  const name = h('input', { type: 'text', maxlength: 40, autocomplete: 'off' });
  const color = h('input', { type: 'color', value: DEFAULT_COLOR });
  const formError = errorLine();
  const form = h(
    'form',
    { class: 'adm-form', 'aria-label': 'Make a label', novalidate: true },
    h('h3', { text: 'Make a label' }),
    h('div', { class: 'adm-row' }, field('Label name', name), field('Colour', color)),
    formError.el,
    h('div', { class: 'adm-row' }, h('button', { type: 'submit', class: 'primary', text: 'Make label' })),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    formError.set('');
    if (!name.value.trim()) {
      formError.set('Give the label a name.');
      return name.focus();
    }
    try {
      const res = await admin.createLabel({ name: name.value.trim(), color: color.value });
      status.set('Label "' + (res.label?.name || name.value.trim()) + '" is made.');
      name.value = '';
      await load();
      name.focus();
    } catch (err) {
      formError.set('Could not make the label: ' + reason(err));
      name.focus();
    }
  });
  const el = h('section', { class: 'adm-panel', 'aria-labelledby': 'pd-adm-labels-title' }, h('h2', { id: 'pd-adm-labels-title', text: 'Labels' }), h('p', { class: 'muted', text: 'Agents put labels on conversations and filter the inbox by them.' }), status.el, error.el, list, form);

  function item(label) {
    const rowError = errorLine();
    const n = h('input', { type: 'text', maxlength: 40, value: label.name, 'aria-label': 'Name of ' + label.name });
    const c = h('input', { type: 'color', value: label.color, 'aria-label': 'Colour of ' + label.name });
    const save = busyButton({ class: 'ghost', text: 'Save', 'aria-label': 'Save ' + label.name }, async () => {
      rowError.set('');
      try {
        await admin.updateLabel(label.id, { name: n.value.trim(), color: c.value });
        status.set('Label "' + n.value.trim() + '" is saved.');
        await load();
      } catch (err) {
        rowError.set('Could not save: ' + reason(err));
      }
    });
    const remove = busyButton({ class: 'ghost danger', text: 'Delete', 'aria-label': 'Delete ' + label.name }, async () => {
      rowError.set('');
      if (!confirm('Delete the label "' + label.name + '"? It is taken off every conversation.')) return;
      try {
        await admin.deleteLabel(label.id);
        status.set('Label "' + label.name + '" is deleted.');
        await load();
        (list.querySelector('input') || name).focus();
      } catch (err) {
        rowError.set('Could not delete: ' + reason(err));
      }
    });
    return h('li', { class: 'adm-item', 'data-label-id': label.id }, h('div', { class: 'adm-head' }, ...labelChips([label])), h('div', { class: 'adm-row' }, n, c, save, remove), rowError.el);
  }

  async function load() {
    error.set('');
    try {
      const res = await admin.labels();
      const labels = res?.labels || [];
      replaceItems(list, labels.length ? labels.map(item) : [h('li', { class: 'muted', text: 'No labels yet.' })]);
    } catch (err) {
      error.set('Could not load the labels: ' + reason(err));
    }
  }

  return { el, load };
}
