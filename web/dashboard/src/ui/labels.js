// ui/labels.js — owns how labels look and are chosen: a chip per label (its colour as a dot, its
// name as text), and the conversation's "Labels" button, which opens a list of every label with a
// tick box each (Escape or a click elsewhere closes it, the focus goes back to the button).

import { h, safeColor } from '../../../shared/ui/dom.js';

/** Chips for `labels` ({name, color}). */
export function labelChips(labels) {
  return labels.map((l) => h('span', { class: 'label-chip' }, h('span', { class: 'label-dot', style: 'background:' + (safeColor(l.color) || '#64748b'), 'aria-hidden': 'true' }), h('span', { text: l.name })));
}

/** The conversation's labels and the picker: {el, render(all, selected)}; onChange(ids). */
export function createLabelPicker({ onChange }) {
  const chips = h('span', { class: 'label-chips' });
  const button = h('button', { type: 'button', class: 'ghost labels-button', 'aria-haspopup': 'true', 'aria-expanded': 'false', 'aria-controls': 'pd-label-menu', text: 'Labels' });
  const menu = h('div', { id: 'pd-label-menu', class: 'label-menu', role: 'group', 'aria-label': 'Labels of this conversation', hidden: true });
  const el = h('div', { class: 'conv-labels' }, chips, h('div', { class: 'label-picker' }, button, menu));
  let all = [];
  let selected = [];

  function setOpen(open, { focusButton = true } = {}) {
    menu.hidden = !open;
    button.setAttribute('aria-expanded', String(open));
    if (open) menu.querySelector('input')?.focus();
    else if (focusButton) button.focus();
  }

  function drawMenu() {
    if (!all.length) {
      menu.replaceChildren(h('p', { class: 'muted', text: 'No labels yet: admins make them in Admin › Labels.' }));
      return;
    }
    menu.replaceChildren(
      ...all.map((l) => {
        const id = 'pd-label-' + l.id;
        const box = h('input', { type: 'checkbox', id, checked: selected.includes(l.id) });
        box.addEventListener('change', () => {
          // Kept here at once, so quick changes add up before the server has answered.
          selected = box.checked ? [...selected, l.id] : selected.filter((x) => x !== l.id);
          onChange(selected);
        });
        return h('div', { class: 'label-option' }, box, h('label', { for: id }, ...labelChips([l])));
      }),
    );
  }

  button.addEventListener('click', () => setOpen(menu.hidden));
  menu.addEventListener('keydown', (e) => {
    if (e.key !== 'Escape') return;
    e.stopPropagation();
    setOpen(false);
  });
  document.addEventListener('click', (e) => {
    if (!menu.hidden && !el.contains(e.target)) setOpen(false, { focusButton: false });
  });

  return {
    el,
    render(labels, ids) {
      const sig = JSON.stringify([labels, ids]);
      if (el._sig === sig) return;
      el._sig = sig;
      all = labels;
      selected = ids.filter((id) => labels.some((l) => l.id === id));
      chips.replaceChildren(...labelChips(labels.filter((l) => selected.includes(l.id))));
      const focused = menu.contains(document.activeElement) ? document.activeElement.id : null;
      drawMenu();
      if (focused) document.getElementById(focused)?.focus();
    },
    close: () => setOpen(false, { focusButton: false }),
  };
}
