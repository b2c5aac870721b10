// ui/saved-replies.js — owns the "Saved replies" panel in the side column: the team's replies
// (shortcut and text, each with Edit and Delete) and a form to add one. Edit turns the reply into
// a form in its place (shortcut and text, Save and Cancel; Escape cancels), which says why the
// server refused a change and, saved or cancelled, gives the focus back to that reply's Edit.
// Typing `/shortcut` in the reply box inserts a reply (see composer.js); this panel is where
// they are kept.

import { h } from '../../../shared/ui/dom.js';

const MAX_TEXT = 5000;

export function createSavedRepliesView({ onAdd, onUpdate = async () => {}, onDelete }) {
  const list = h('ul', { class: 'saved-list' });
  const empty = h('p', { class: 'muted', text: 'None yet. Add one below, then type / and its shortcut in a reply.' });
  const shortcut = h('input', { id: 'pd-saved-shortcut', maxlength: 32, placeholder: 'shortcut', autocomplete: 'off', 'aria-label': 'Shortcut' });
  const text = h('textarea', { id: 'pd-saved-text', dir: 'auto', rows: 2, maxlength: MAX_TEXT, placeholder: 'Reply text', 'aria-label': 'Reply text' });
  const error = h('p', { class: 'err', role: 'alert' });
  const save = h('button', { type: 'submit', class: 'ghost', text: 'Save reply' });
  const form = h('form', { class: 'saved-form', 'aria-label': 'Add a saved reply' }, shortcut, text, error, save);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.textContent = '';
    save.disabled = true;
    try {
      await onAdd(shortcut.value, text.value);
      shortcut.value = '';
      text.value = '';
    } catch (err) {
      error.textContent = err?.message || 'Could not save the reply.';
    } finally {
      save.disabled = false;
    }
  });
  const el = h('section', { class: 'saved', 'aria-labelledby': 'pd-saved-title' }, h('h3', { id: 'pd-saved-title', text: 'Saved replies' }), empty, list, form);

  let replies = [];
  let editing = null; // the id of the reply being edited, while its form shows
  let focusAfter = null; // the id whose Edit button gets the focus after the next render

  /** The reply `r` as a form in its place: Save sends the change, Cancel (or Escape) puts it back. */
  function editor(r) {
    const sc = h('input', { maxlength: 32, autocomplete: 'off', 'aria-label': 'Shortcut of /' + r.shortcut });
    sc.value = r.shortcut;
    const tx = h('textarea', { dir: 'auto', rows: 3, maxlength: MAX_TEXT, 'aria-label': 'Text of /' + r.shortcut });
    tx.value = r.text;
    const err = h('p', { class: 'err', role: 'alert' });
    const ok = h('button', { type: 'submit', class: 'ghost', text: 'Save' });
    const cancel = h('button', { type: 'button', class: 'link', text: 'Cancel' });
    const f = h('form', { class: 'saved-form saved-edit', 'aria-label': 'Edit /' + r.shortcut }, sc, tx, err, h('div', { class: 'saved-actions' }, ok, cancel));
    const stop = () => {
      editing = null;
      focusAfter = r.id;
      draw();
    };
    cancel.addEventListener('click', stop);
    f.addEventListener('keydown', (e) => {
      if (e.key !== 'Escape') return;
      e.preventDefault();
      e.stopPropagation();
      stop();
    });
    f.addEventListener('submit', async (e) => {
      e.preventDefault();
      err.textContent = '';
      ok.disabled = true;
      try {
        editing = null;
        focusAfter = r.id;
        await onUpdate(r, sc.value, tx.value);
      } catch (error) {
        editing = r.id;
        focusAfter = null;
        err.textContent = error?.message || 'Could not save the reply.';
        ok.disabled = false;
      }
    });
    return f;
  }

  function item(r) {
    if (editing === r.id) return h('li', { class: 'saved-reply editing', 'data-id': r.id }, editor(r));
    const edit = h('button', {
      type: 'button',
      class: 'link saved-edit-toggle',
      'aria-label': 'Edit /' + r.shortcut,
      text: 'Edit',
      onclick: () => {
        editing = r.id;
        draw();
        list.querySelector('.saved-edit input')?.focus();
      },
    });
    return h(
      'li',
      { class: 'saved-reply', 'data-id': r.id },
      h('div', { class: 'saved-body' }, h('b', { text: '/' + r.shortcut }), h('span', { class: 'saved-text', dir: 'auto', text: r.text })),
      h('div', { class: 'saved-actions' }, edit, h('button', { type: 'button', class: 'link', 'aria-label': 'Delete /' + r.shortcut, text: 'Delete', onclick: () => onDelete(r) })),
    );
  }

  function draw() {
    // A form being edited stays as it is (with what was typed) when the list is read again.
    const open = editing != null ? list.querySelector('.saved-reply.editing') : null;
    empty.hidden = replies.length > 0;
    list.replaceChildren(...replies.map((r) => (open && editing === r.id ? open : item(r))));
    if (editing != null && !replies.some((r) => r.id === editing)) editing = null;
    if (focusAfter != null) {
      const button = list.querySelector('.saved-reply[data-id="' + focusAfter + '"] .saved-edit-toggle');
      focusAfter = null;
      button?.focus();
    }
  }

  return {
    el,
    render(next) {
      replies = next;
      draw();
    },
  };
}
