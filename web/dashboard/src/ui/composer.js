// ui/composer.js — owns the reply box: a text area that grows with its text (Enter sends,
// Shift+Enter adds a line, IME composition is respected), the send button, Attach (and pasting a
// file; what is typed goes with the file as its caption), a length limit, a
// line saying what sending will do (take over from the bot) or why it cannot (closed), and
// reporting when the agent starts and stops typing (stopped = 4 s without a key, a send, or
// leaving the box). A reply that starts with `/` offers the saved replies whose shortcut
// matches (a list box: arrows choose, Enter or Tab inserts, Escape closes).

import { h } from '../../../shared/ui/dom.js';
import { icon } from './icons.js';
import { bindPaste, createAttach } from './attach.js';

const IDLE_MS = 4000;
const MAX_CHARS = 5000;

export function createComposer({ onSend, onAttach, onTyping, savedReplies = () => [] }) {
  let typing = false;
  let idleTimer = null;

  const setTyping = (on) => {
    clearTimeout(idleTimer);
    if (on) idleTimer = setTimeout(() => setTyping(false), IDLE_MS);
    if (on !== typing || on) onTyping(on);
    typing = on;
  };

  const input = h('textarea', { id: 'pd-reply', rows: 2, maxlength: MAX_CHARS, 'aria-label': 'Reply', 'aria-describedby': 'pd-reply-hint', placeholder: 'Write a reply…', enterkeyhint: 'send' });
  const send = h('button', { type: 'button', class: 'primary send', 'aria-label': 'Send reply', title: 'Send (Enter)' }, icon('send'), h('span', { text: 'Send' }));
  const hint = h('p', { id: 'pd-reply-hint', class: 'hint' });
  const attach = createAttach(attachFiles);
  const picker = h('ul', { id: 'pd-saved-picker', class: 'saved-picker', role: 'listbox', 'aria-label': 'Saved replies', hidden: true });
  input.setAttribute('aria-controls', 'pd-saved-picker');
  let choices = [];
  let chosen = 0;
  const el = h('div', { class: 'composer' }, picker, h('div', { class: 'row' }, attach.button, attach.picker, input, send), hint);

  /** Shows the saved replies matching `/query` (whole box), or hides the list. */
  function offer() {
    const m = /^\/([\w-]*)$/.exec(input.value);
    const query = m ? m[1].toLowerCase() : null;
    choices = query == null ? [] : savedReplies().filter((r) => r.shortcut.includes(query)).sort((a, b) => b.shortcut.startsWith(query) - a.shortcut.startsWith(query)).slice(0, 8);
    chosen = Math.min(chosen, Math.max(choices.length - 1, 0));
    picker.hidden = choices.length === 0;
    picker.replaceChildren(
      ...choices.map((r, i) => {
        const option = h('li', { id: 'pd-saved-opt-' + i, role: 'option', 'aria-selected': String(i === chosen) }, h('b', { text: '/' + r.shortcut }), h('span', { text: r.text }));
        option.addEventListener('mousedown', (e) => {
          e.preventDefault(); // keep the focus in the box
          insert(r);
        });
        return option;
      }),
    );
    if (choices.length) input.setAttribute('aria-activedescendant', 'pd-saved-opt-' + chosen);
    else input.removeAttribute('aria-activedescendant');
  }

  function insert(reply) {
    input.value = reply.text;
    choices = [];
    offer();
    grow();
    setTyping(true);
    input.focus();
  }

  function grow() {
    input.style.height = 'auto';
    input.style.height = Math.min(input.scrollHeight + 2, 200) + 'px';
  }

  function submit() {
    if (input.disabled) return;
    const text = input.value.trim();
    if (!text) return;
    input.value = '';
    grow();
    setTyping(false);
    onSend(text);
  }

  /** Files go out with the box's text as the first one's caption. */
  function attachFiles(files) {
    if (input.disabled || !files.length) return;
    const caption = input.value.trim();
    input.value = '';
    grow();
    setTyping(false);
    onAttach(files, caption);
  }

  bindPaste(input, attachFiles);
  input.addEventListener('keydown', (e) => {
    if (choices.length) {
      if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        e.preventDefault();
        chosen = (chosen + (e.key === 'ArrowDown' ? 1 : choices.length - 1)) % choices.length;
        offer();
        return;
      }
      if ((e.key === 'Enter' && !e.shiftKey) || e.key === 'Tab') {
        e.preventDefault();
        insert(choices[chosen]);
        return;
      }
      if (e.key === 'Escape') {
        e.preventDefault();
        e.stopPropagation();
        choices = [];
        picker.hidden = true;
        input.removeAttribute('aria-activedescendant');
        return;
      }
    }
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
      e.preventDefault();
      submit();
    }
  });
  input.addEventListener('input', () => {
    chosen = 0;
    offer();
    grow();
    setTyping(input.value.trim().length > 0);
  });
  input.addEventListener('blur', () => typing && setTyping(false));
  send.addEventListener('click', submit);

  return {
    el,
    input,
    focus: () => input.focus(),
    attachFiles,
    /** Who the reply goes to, and whether replying is possible now. */
    setContext({ name, status }) {
      const closed = status === 'closed';
      input.disabled = closed;
      send.disabled = closed;
      attach.button.disabled = closed;
      input.placeholder = closed ? 'This conversation is closed.' : 'Reply to ' + name + '…';
      hint.textContent = closed
        ? 'Reopen the conversation to reply.'
        : (status === 'bot' ? 'Replying takes the conversation over from the bot. ' : '') + 'Enter sends, Shift+Enter adds a line.';
    },
    /** Forget the draft's typing state (another conversation was opened). */
    reset() {
      if (typing) setTyping(false);
      input.value = '';
      offer();
      grow();
    },
  };
}
