// ui/login.js — owns the sign-in screen: one field for the agent token (`cba_…`, printed by
// `parley agent create`, or by `parley serve` for the demo agent), a submit button, and an error
// line read out to screen readers. It only collects the token; app.js checks it with the server.

import { h } from '../../../shared/ui/dom.js';

export function createLogin({ onSubmit }) {
  const input = h('input', {
    id: 'pd-token',
    name: 'token',
    type: 'password',
    autocomplete: 'off',
    spellcheck: 'false',
    autocapitalize: 'off',
    required: true,
    placeholder: 'cba_…',
    'aria-describedby': 'pd-token-hint pd-login-error',
  });
  const error = h('p', { id: 'pd-login-error', class: 'error', role: 'alert' });
  const button = h('button', { type: 'submit', class: 'primary', text: 'Sign in' });
  const form = h(
    'form',
    { class: 'login-card', 'aria-labelledby': 'pd-login-title', novalidate: true },
    h('h1', { id: 'pd-login-title', text: 'Parley inbox' }),
    h('p', { class: 'muted', text: 'Sign in to answer your visitors.' }),
    h('label', { for: 'pd-token', text: 'Agent token' }),
    input,
    h('p', { id: 'pd-token-hint', class: 'hint', text: 'Your administrator creates it with "parley agent create"; it starts with cba_.' }),
    error,
    button,
  );
  const el = h('main', { class: 'login' }, form);

  let busy = false;
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (busy) return;
    const token = input.value.trim();
    if (!token) {
      error.textContent = 'Enter your agent token.';
      input.setAttribute('aria-invalid', 'true');
      input.focus();
      return;
    }
    busy = true;
    button.disabled = true;
    button.textContent = 'Signing in…';
    error.textContent = '';
    input.removeAttribute('aria-invalid');
    try {
      await onSubmit(token);
    } finally {
      busy = false;
      button.disabled = false;
      button.textContent = 'Sign in';
    }
  });

  return {
    el,
    setError(text) {
      error.textContent = text || '';
      if (text) {
        input.setAttribute('aria-invalid', 'true');
        input.select();
      }
    },
    focus: () => input.focus(),
  };
}
