// ui/attach.js — owns the ways a file gets into a reply: the Attach button (a file picker),
// pasting files or a screenshot into the reply box, and dropping files on the conversation pane
// (marked while files are dragged over it; a drop that misses the pane does not navigate the page
// away). Each hands a list of File objects to `onFiles`; nothing here reads or uploads them.

import { h } from '../../../shared/ui/dom.js';
import { icon } from './icons.js';

// What the server accepts (it sniffs the bytes; this only narrows the picker).
const ACCEPT = 'image/*,application/pdf,text/*,audio/*';

const hasFiles = (dt) => !!dt && [...dt.types].includes('Files');

/** A pasted screenshot has no useful name: give it one with the time. */
function named(file) {
  if (file.name && file.name !== 'image.png') return file;
  const ext = (file.type.split('/')[1] || 'bin').replace(/[^a-z0-9]/gi, '');
  const stamp = new Date().toISOString().slice(0, 19).replace(/[T:]/g, '-');
  return new File([file], 'pasted-' + stamp + '.' + ext, { type: file.type });
}

/** The Attach button and its hidden file input. */
export function createAttach(onFiles) {
  const picker = h('input', { type: 'file', multiple: true, accept: ACCEPT, hidden: true, tabindex: -1 });
  picker.addEventListener('change', () => {
    const files = [...picker.files];
    picker.value = ''; // the same file can be chosen again
    if (files.length) onFiles(files);
  });
  const button = h('button', { type: 'button', class: 'ghost attach', 'aria-label': 'Attach a file', title: 'Attach a file (or paste or drop one)', onclick: () => picker.click() }, icon('clip'));
  return { button, picker };
}

/** Files pasted into `input` go to onFiles; pasted text stays text. */
export function bindPaste(input, onFiles) {
  input.addEventListener('paste', (e) => {
    const files = [...(e.clipboardData?.files || [])];
    if (!files.length) return;
    e.preventDefault();
    onFiles(files.map(named));
  });
}

/** Files dropped on `target` go to onFiles. Returns a function that removes the listeners. */
export function bindDrop(target, onFiles) {
  let depth = 0;
  const mark = (on) => target.classList.toggle('dropping', on);
  const over = (e) => {
    if (!hasFiles(e.dataTransfer)) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = 'copy';
  };
  target.addEventListener('dragenter', (e) => hasFiles(e.dataTransfer) && (depth++, mark(true)));
  target.addEventListener('dragleave', () => --depth <= 0 && ((depth = 0), mark(false)));
  target.addEventListener('dragover', over);
  target.addEventListener('drop', (e) => {
    depth = 0;
    mark(false);
    if (!hasFiles(e.dataTransfer)) return;
    e.preventDefault();
    e.stopPropagation();
    const files = [...e.dataTransfer.files];
    if (files.length) onFiles(files);
  });
  // Elsewhere on the page a dropped file would replace the dashboard with the file.
  const guard = (e) => hasFiles(e.dataTransfer) && e.preventDefault();
  window.addEventListener('dragover', guard);
  window.addEventListener('drop', guard);
  return () => {
    window.removeEventListener('dragover', guard);
    window.removeEventListener('drop', guard);
  };
}
