// admin/kit.js — the small pieces the admin area's panels share: a labelled field, an error line
// read out to screen readers, a status line, a read-only value with a Copy button, lines of text
// to and from a list, the server's message for a refused call, and a list re-rendered without
// throwing out a keyboard user's focus. Everything is text nodes.

import { focusableIn, h } from '../../../shared/ui/dom.js';

let seq = 0;
/** A unique id for a label's `for` (several panels live in one page). */
export const uid = (prefix) => 'pd-adm-' + prefix + '-' + ++seq;

/** A label above an input, select or textarea; `hint` below it (its description). */
export function field(label, control, hint) {
  if (!control.id) control.id = uid('f');
  let note = null;
  if (hint) {
    note = h('p', { class: 'hint', id: control.id + '-hint', text: hint });
    control.setAttribute('aria-describedby', note.id);
  }
  return h('div', { class: 'adm-field' }, h('label', { for: control.id, text: label }), control, note);
}

/** An error line (role="alert") with set(text). */
export function errorLine() {
  const el = h('p', { class: 'error', role: 'alert' });
  return { el, set: (text) => (el.textContent = text || '') };
}

/** A polite status line with set(text). */
export function statusLine() {
  const el = h('p', { class: 'muted adm-status', role: 'status' });
  return { el, set: (text) => (el.textContent = text || '') };
}

/** What to say when a call is refused: the server's message, else the status. */
export function reason(error) {
  if (error?.status === 0) return 'Cannot reach the server. Try again.';
  return error?.message || error?.code || 'Something went wrong.';
}

/** Lines of a textarea as a list: trimmed, empty ones dropped. */
export const lines = (text) => String(text || '').split('\n').map((s) => s.trim()).filter(Boolean);

/** Puts `text` on the clipboard; resolves to whether it worked. */
export async function copyText(text, from) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // No clipboard permission (an http page, say): select the text and copy it the old way.
    try {
      from?.select?.();
      return document.execCommand('copy');
    } catch {
      return false;
    }
  }
}

/**
 * A read-only value with a "Copy" button: `label` names it, `multiline` makes it a textarea
 * (a snippet). The button says "Copied" for a moment.
 */
export function copyBox(label, value, { multiline = false, name = label } = {}) {
  const input = multiline
    ? h('textarea', { class: 'adm-copy-value', readonly: true, rows: 4, spellcheck: 'false' })
    : h('input', { class: 'adm-copy-value', type: 'text', readonly: true, spellcheck: 'false' });
  input.value = value;
  input.addEventListener('focus', () => input.select());
  const said = h('span', { class: 'muted adm-copied', role: 'status' });
  const button = h('button', { type: 'button', class: 'ghost', text: 'Copy', 'aria-label': 'Copy ' + name.toLowerCase() });
  button.addEventListener('click', async () => {
    const ok = await copyText(input.value, input);
    said.textContent = ok ? 'Copied.' : 'Select the text and copy it.';
    setTimeout(() => (said.textContent = ''), 4000);
  });
  return h('div', { class: 'adm-copy' }, field(label, input), h('div', { class: 'adm-row' }, button, said));
}

/** A button that is disabled while `run` works. */
export function busyButton(attrs, run) {
  const button = h('button', Object.assign({ type: 'button' }, attrs));
  button.addEventListener('click', async () => {
    if (button.disabled) return;
    button.disabled = true;
    try {
      await run(button);
    } finally {
      button.disabled = false;
    }
  });
  return button;
}

// An item is known again by its data attributes (data-user-id, data-widget-id, …).
const itemKey = (item) => JSON.stringify(Object.entries(item.dataset || {}));

/**
 * Replaces `list`'s children with `items`. A panel reloads its list when it is shown again or
 * after a change, and the focused control would go with the old nodes, dropping a keyboard
 * user's focus to the page: instead it moves to the same control of the same item in the new
 * list (known by its data attributes, else by its place).
 */
export function replaceItems(list, items) {
  const active = document.activeElement;
  const children = [...list.children];
  const item = active && active !== list ? children.find((c) => c.contains(active)) : null;
  const spot = item && { key: itemKey(item), place: children.indexOf(item), control: focusableIn(item).indexOf(active) };
  list.replaceChildren(...items);
  if (!spot) return;
  const again = items.find((i) => itemKey(i) === spot.key) || list.children[Math.min(spot.place, list.children.length - 1)];
  const controls = again ? focusableIn(again) : [];
  (controls[spot.control] || controls[0])?.focus();
}
