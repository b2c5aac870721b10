// ui/away-email.js — owns the inline form that asks a visitor for their email when they asked
// for a human while the team is away (widget.js decides when): a labelled email field and Send,
// the problem said beside the field (aria-invalid + aria-describedby, focus moved there), the
// server's own 422 message shown too; then "Thanks! We will reply to …". It sits at the thread's
// end as a list item, like the rating prompt, and keeps what was typed across renders.

import { h } from '../../../shared/ui/dom.js';

const EMAIL_RE = /^[^\s@]+@[^\s@]+$/;

export function createAwayEmail({ t, onSubmit, onDone }) {
  let mode = null; // null (hidden), 'ask' or 'thanks'
  let busy = false;
  const input = h('input', { id: 'pw-away-email', type: 'email', autocomplete: 'email', maxlength: 254, 'aria-required': 'true' });
  const note = h('p', { id: 'pw-away-err', class: 'away-err', role: 'alert' });
  const send = h('button', { type: 'submit', class: 'away-send', text: t('awayEmailSend') });
  const form = h(
    'form',
    { class: 'away-form', novalidate: true, 'aria-labelledby': 'pw-away-q' },
    h('p', { id: 'pw-away-q', class: 'away-q', text: t('awayEmailIntro') }),
    h('label', { for: 'pw-away-email', text: t('awayEmailLabel') }),
    h('div', { class: 'away-row' }, input, send),
    note,
  );
  const thanks = h('p', { class: 'away-q', role: 'status' });
  const el = h('li', { class: 'away', hidden: true });

  function problem(text) {
    note.textContent = text || '';
    if (text) {
      input.setAttribute('aria-invalid', 'true');
      input.setAttribute('aria-describedby', 'pw-away-err');
    } else {
      input.removeAttribute('aria-invalid');
      input.removeAttribute('aria-describedby');
    }
  }

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (busy) return;
    const email = input.value.trim();
    if (!EMAIL_RE.test(email) || email.length > 254) {
      problem(t('awayEmailInvalid'));
      return input.focus();
    }
    problem(null);
    busy = true;
    form.setAttribute('aria-busy', 'true');
    onSubmit(email).then((result) => {
      busy = false;
      form.removeAttribute('aria-busy');
      if (result === true) {
        thanks.textContent = t('awayEmailThanks', { email });
        if (set('thanks')) onDone?.();
      } else {
        problem(typeof result === 'string' ? result : t('awayEmailFailed'));
        input.focus();
      }
    });
  });

  function set(next) {
    if (next === mode) return false;
    const focused = el.contains(el.getRootNode().activeElement);
    mode = next;
    el.hidden = !mode;
    el.replaceChildren(...(mode ? [mode === 'ask' ? form : thanks] : []));
    return focused && mode !== 'ask';
  }

  return {
    el,
    /** Shows the form ('ask'), the thanks, or nothing; true if this took the focus from the visitor. */
    set,
    mode: () => mode,
    focus: () => input.focus(),
  };
}
