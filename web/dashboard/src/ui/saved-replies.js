// ui/saved-replies.js — owns the "Saved replies" panel in the side column: the team's replies
// (shortcut and text, each with Delete) and a form to add one. Typing `/shortcut` in the reply box
// inserts a reply (see composer.js); this panel is where they are kept.

import { h } from '../../../shared/ui/dom.js';

export function createSavedRepliesView({ onAdd, onDelete }) {
  const list = h('ul', { class: 'saved-list' });
  const empty = h('p', { class: 'muted', text: 'None yet. Add one below, then type / and its shortcut in a reply.' });
  const shortcut = h('input', { id: 'pd-saved-shortcut', maxlength: 32, placeholder: 'shortcut', autocomplete: 'off', 'aria-label': 'Shortcut' });
  const text = h('textarea', { id: 'pd-saved-text', rows: 2, maxlength: 5000, placeholder: 'Reply text', 'aria-label': 'Reply text' });
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

  return {
    el,
    render(replies) {
      empty.hidden = replies.length > 0;
      list.replaceChildren(
        ...replies.map((r) =>
          h(
            'li',
            { class: 'saved-reply' },
            h('div', { class: 'saved-body' }, h('b', { text: '/' + r.shortcut }), h('span', { class: 'saved-text', text: r.text })),
            h('button', { type: 'button', class: 'link', 'aria-label': 'Delete /' + r.shortcut, text: 'Delete', onclick: () => onDelete(r) }),
          ),
        ),
      );
    },
  };
}
