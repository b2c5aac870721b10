// ui/composer.js — owns the reply box: a text area that grows with its text (Enter sends,
// Shift+Enter adds a line, IME composition is respected), the send button, Attach (and pasting a
// file; what is typed goes with the file as its caption), a length limit, a
// line saying what sending will do (take over from the bot) or why it cannot (closed), and
// reporting when the agent starts and stops typing (stopped = 4 s without a key, a send, or
// leaving the box).

import { h, icon } from './dom.js';
import { bindPaste, createAttach } from './attach.js';

const IDLE_MS = 4000;
const MAX_CHARS = 5000;

export function createComposer({ onSend, onAttach, onTyping }) {
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
  const el = h('div', { class: 'composer' }, h('div', { class: 'row' }, attach.button, attach.picker, input, send), hint);

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
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
      e.preventDefault();
      submit();
    }
  });
  input.addEventListener('input', () => {
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
      grow();
    },
  };
}
