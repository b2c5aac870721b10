// ui/composer.js — owns the reply box: a text area that grows with its text (Enter sends,
// Shift+Enter adds a line, IME composition is respected), the send button, Attach (and pasting a
// file; what is typed goes with the file as its caption), a length limit (a paste that would
// pass it is said, not cut silently), a
// line saying what sending will do (take over from the bot) or why it cannot (closed), and
// reporting when the agent starts and stops typing (stopped = 4 s without a key, a send, or
// leaving the box). A reply that starts with `/` offers the saved replies whose shortcut
// matches (a list box: arrows choose, Enter or Tab inserts, Escape closes). "Private note"
// switches the box to notes for agents only: no typing is shown to the visitor, no files, and
// `@` offers the team (the same list box) to mention someone, who is told.

import { h } from '../../../shared/ui/dom.js';
import { icon } from './icons.js';
import { bindPaste, createAttach } from './attach.js';

const IDLE_MS = 4000;
const touch = typeof matchMedia === 'function' && matchMedia('(pointer: coarse)').matches;
const MAX_CHARS = 5000;

export function createComposer({ onSend, onAttach, onTyping, onNote = () => {}, savedReplies = () => [], team = () => [] }) {
  let typing = false;
  let idleTimer = null;
  let mode = 'reply'; // or 'note'
  let context = { name: 'the visitor', status: 'bot' };
  const mentioned = new Map(); // name inserted -> agent id, for this note

  const setTyping = (on) => {
    if (mode === 'note') on = false; // a note is not the visitor's business
    clearTimeout(idleTimer);
    if (on) idleTimer = setTimeout(() => setTyping(false), IDLE_MS);
    if (on !== typing || on) onTyping(on);
    typing = on;
  };

  const input = h('textarea', { id: 'pd-reply', dir: 'auto', rows: 2, maxlength: MAX_CHARS, 'aria-label': 'Reply', 'aria-describedby': 'pd-reply-hint', placeholder: 'Write a reply…', enterkeyhint: 'send' });
  const send = h('button', { type: 'button', class: 'primary send', 'aria-label': 'Send reply', title: 'Send (Enter)' }, icon('send'), h('span', { text: 'Send' }));
  const hint = h('p', { id: 'pd-reply-hint', class: 'hint' });
  // Said when a paste would pass the limit (the box keeps only what fits), instead of cutting it silently.
  const limitNote = h('p', { id: 'pd-reply-limit', class: 'hint limit', role: 'alert', hidden: true });
  let limitTimer = null;
  const sayLimit = (on) => {
    clearTimeout(limitTimer);
    limitNote.textContent = on ? 'Replies can have at most ' + MAX_CHARS.toLocaleString('en') + ' characters: the paste was cut to fit.' : '';
    limitNote.hidden = !on;
    if (on) limitTimer = setTimeout(() => sayLimit(false), 10000);
  };
  const attach = createAttach(attachFiles);
  const picker = h('ul', { id: 'pd-saved-picker', class: 'saved-picker', role: 'listbox', 'aria-label': 'Saved replies', hidden: true });
  input.setAttribute('aria-controls', 'pd-saved-picker');
  let choices = [];
  let chosen = 0;
  const replyMode = h('button', { type: 'button', class: 'mode', 'aria-pressed': 'true', text: 'Reply' });
  const noteMode = h('button', { type: 'button', class: 'mode', 'aria-pressed': 'false', text: 'Private note' });
  const modes = h('div', { class: 'composer-modes', role: 'group', 'aria-label': 'Write a' }, replyMode, noteMode);
  const el = h('div', { class: 'composer' }, modes, picker, h('div', { class: 'row' }, attach.button, attach.picker, input, send), limitNote, hint);

  function setMode(next) {
    if (next === mode) return;
    if (typing) setTyping(false);
    mode = next;
    replyMode.setAttribute('aria-pressed', String(mode === 'reply'));
    noteMode.setAttribute('aria-pressed', String(mode === 'note'));
    el.classList.toggle('note-mode', mode === 'note');
    mentioned.clear();
    choices = [];
    offer();
    apply();
    input.focus();
  }
  replyMode.addEventListener('click', () => setMode('reply'));
  noteMode.addEventListener('click', () => setMode('note'));

  /** The `@query` being typed at the caret (note mode), or null. */
  function mentionQuery() {
    const before = input.value.slice(0, input.selectionStart ?? input.value.length);
    const m = /(?:^|\s)@([^\s@]*)$/.exec(before);
    return m ? m[1].toLowerCase() : null;
  }

  /** Shows the saved replies matching `/query` (whole box), or in a note the team for `@query`. */
  function offer() {
    if (mode === 'note') {
      const query = mentionQuery();
      choices = query == null ? [] : team().filter((a) => a.name && a.name.toLowerCase().includes(query)).slice(0, 8).map((a) => ({ mention: a }));
    } else {
      const m = /^\/([\w-]*)$/.exec(input.value);
      const query = m ? m[1].toLowerCase() : null;
      choices = query == null ? [] : savedReplies().filter((r) => r.shortcut.includes(query)).sort((a, b) => b.shortcut.startsWith(query) - a.shortcut.startsWith(query)).slice(0, 8);
    }
    chosen = Math.min(chosen, Math.max(choices.length - 1, 0));
    picker.hidden = choices.length === 0;
    picker.setAttribute('aria-label', mode === 'note' ? 'Mention an agent' : 'Saved replies');
    picker.replaceChildren(
      ...choices.map((r, i) => {
        const option = r.mention
          ? h('li', { id: 'pd-saved-opt-' + i, role: 'option', 'aria-selected': String(i === chosen) }, h('b', { text: '@' + r.mention.name }), h('span', { text: r.mention.email || '' }))
          : h('li', { id: 'pd-saved-opt-' + i, role: 'option', 'aria-selected': String(i === chosen) }, h('b', { text: '/' + r.shortcut }), h('span', { text: r.text }));
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
    if (reply.mention) return mention(reply.mention);
    input.value = reply.text;
    choices = [];
    offer();
    grow();
    setTyping(true);
    input.focus();
  }

  /** Replaces the `@query` at the caret with `@Name ` and remembers whom it names. */
  function mention(agent) {
    const at = input.selectionStart ?? input.value.length;
    const before = input.value.slice(0, at).replace(/@([^\s@]*)$/, '@' + agent.name + ' ');
    input.value = before + input.value.slice(at);
    input.setSelectionRange(before.length, before.length);
    mentioned.set(agent.name, agent.id);
    choices = [];
    offer();
    grow();
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
    if (mode === 'note') {
      // Those still named in the text, once each.
      const ids = [...new Set([...mentioned].filter(([name]) => text.includes('@' + name)).map(([, id]) => id))];
      mentioned.clear();
      onNote(text, ids);
      return;
    }
    onSend(text);
  }

  /** Files go out with the box's text as the first one's caption. */
  function attachFiles(files) {
    if (input.disabled || mode === 'note' || !files.length) return;
    const caption = input.value.trim();
    input.value = '';
    grow();
    setTyping(false);
    onAttach(files, caption);
  }

  /** The box's state for the mode and the conversation: a closed one takes notes, not replies. */
  function apply() {
    const { name, status } = context;
    const closed = status === 'closed' && mode === 'reply';
    input.disabled = closed;
    send.disabled = closed;
    attach.button.disabled = closed || mode === 'note';
    send.setAttribute('aria-label', mode === 'note' ? 'Add the note' : 'Send reply');
    send.lastChild.textContent = mode === 'note' ? 'Add note' : 'Send';
    input.setAttribute('aria-label', mode === 'note' ? 'Private note' : 'Reply');
    input.placeholder = mode === 'note' ? 'A note only agents see. Type @ to mention someone…' : closed ? 'This conversation is closed.' : 'Reply to ' + name + '…';
    // On a touch screen there is no Shift+Enter to speak of: the hint says only what matters.
    const keys = touch ? '' : mode === 'note' ? 'Enter adds the note, Shift+Enter a line.' : 'Enter sends, Shift+Enter adds a line.';
    hint.textContent = (
      mode === 'note'
        ? 'Private: the visitor never sees notes. ' + keys
        : closed
          ? 'Reopen the conversation to reply.'
          : (status === 'bot' ? 'Replying takes the conversation over from the bot. ' : '') + keys
    ).trim();
    hint.hidden = !hint.textContent;
  }

  bindPaste(input, attachFiles);
  input.addEventListener('paste', (e) => {
    if (e.defaultPrevented) return; // files, taken as attachments
    const pasted = e.clipboardData?.getData('text') || '';
    const kept = input.value.length - ((input.selectionEnd ?? 0) - (input.selectionStart ?? 0));
    if (kept + pasted.length > MAX_CHARS) sayLimit(true);
  });
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
    if (!limitNote.hidden && input.value.length < MAX_CHARS) sayLimit(false);
    chosen = 0;
    offer();
    grow();
    setTyping(input.value.trim().length > 0);
  });
  input.addEventListener('blur', () => typing && setTyping(false));
  input.addEventListener('click', () => mode === 'note' && offer());
  send.addEventListener('click', submit);

  return {
    el,
    input,
    focus: () => input.focus(),
    attachFiles,
    /** Who the reply goes to, and whether replying is possible now. */
    setContext({ name, status }) {
      context = { name, status };
      apply();
    },
    setMode,
    /** Forget the draft's typing state (another conversation was opened). */
    reset() {
      if (typing) setTyping(false);
      input.value = '';
      mentioned.clear();
      if (mode === 'note') {
        mode = 'reply';
        replyMode.setAttribute('aria-pressed', 'true');
        noteMode.setAttribute('aria-pressed', 'false');
        el.classList.remove('note-mode');
        apply();
      }
      offer();
      grow();
    },
  };
}
