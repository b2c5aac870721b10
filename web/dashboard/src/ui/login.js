// ui/login.js — owns the sign-in screen: the email-and-password form (what people use), and, behind
// "Use an API token instead", the agent-token form (a `cba_…` token from `parley agent create`, or
// the demo agent's from `parley serve`). Each form has its own error line, read out to screen
// readers (role="alert"); a notice line (role="status") says why the screen is back (signed out
// in another tab, say). It only collects what is typed; app.js asks the server.

import { h } from '../../../shared/ui/dom.js';

const MODES = ['password', 'token'];

/**
 * @param {object} o
 * @param {'password'|'token'} [o.mode] the form shown first
 * @param {(email: string, password: string) => Promise<string|object|null>} o.onPassword resolves
 *   to an error to show (a string, about the password; or `{text, field: false}`), or null once
 *   signed in
 * @param {(token: string) => Promise<string|null>} o.onToken the same for a token
 */
export function createLogin({ mode = 'password', onPassword, onToken }) {
  const notice = h('p', { class: 'notice', role: 'status' });

  // ---- email and password -------------------------------------------------------------------
  const email = h('input', {
    id: 'pd-email',
    name: 'email',
    type: 'email',
    autocomplete: 'username',
    inputmode: 'email',
    spellcheck: 'false',
    autocapitalize: 'off',
    required: true,
    'aria-describedby': 'pd-password-error',
  });
  const password = h('input', {
    id: 'pd-password',
    name: 'password',
    type: 'password',
    autocomplete: 'current-password',
    required: true,
    'aria-describedby': 'pd-password-error',
  });
  const passwordForm = form({
    name: 'password',
    errorId: 'pd-password-error',
    fields: [h('label', { for: 'pd-email', text: 'Email' }), email, h('label', { for: 'pd-password', text: 'Password' }), password],
    check() {
      if (!email.value.trim()) return ['Enter your email.', email];
      if (!password.value) return ['Enter your password.', password];
      return null;
    },
    submit: () => onPassword(email.value.trim(), password.value),
    invalid: password,
  });

  // ---- an agent token -----------------------------------------------------------------------
  const token = h('input', {
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
  const tokenForm = form({
    name: 'token',
    errorId: 'pd-login-error',
    fields: [
      h('label', { for: 'pd-token', text: 'Agent token' }),
      token,
      h('p', { id: 'pd-token-hint', class: 'hint', text: 'Your administrator creates it with "parley agent create"; it starts with cba_.' }),
    ],
    check: () => (token.value.trim() ? null : ['Enter your agent token.', token]),
    submit: () => onToken(token.value.trim()),
    invalid: token,
  });

  const forms = { password: passwordForm, token: tokenForm };
  const toggle = h('button', { type: 'button', class: 'link switch' });
  toggle.addEventListener('click', () => {
    show(mode === 'password' ? 'token' : 'password');
    forms[mode].first.focus();
  });

  const card = h(
    'div',
    { class: 'login-card' },
    h('h1', { id: 'pd-login-title', text: 'Parley inbox' }),
    h('p', { class: 'muted', text: 'Sign in to answer your visitors.' }),
    notice,
    passwordForm.el,
    tokenForm.el,
    toggle,
  );
  const el = h('main', { class: 'login', 'aria-labelledby': 'pd-login-title' }, card);

  function show(next) {
    mode = MODES.includes(next) ? next : 'password';
    passwordForm.el.hidden = mode !== 'password';
    tokenForm.el.hidden = mode !== 'token';
    toggle.textContent = mode === 'password' ? 'Use an API token instead' : 'Use your email and password instead';
  }
  show(mode);

  return {
    el,
    /** An error on the form shown (empty: none); the field it is about is marked and selected. */
    setError: (text) => forms[mode].setError(text),
    /** Why the screen is shown (not an error): "You signed out in another tab.", say. */
    setNotice(text) {
      notice.textContent = text || '';
    },
    focus: () => forms[mode].first.focus(),
    get mode() {
      return mode;
    },
  };
}

/** One sign-in form: its fields, an error line, a submit button that shows it is busy. */
function form({ name, errorId, fields, check, submit, invalid }) {
  const error = h('p', { id: errorId, class: 'error', role: 'alert' });
  const button = h('button', { type: 'submit', class: 'primary', text: 'Sign in' });
  const el = h('form', { class: 'login-form', 'data-form': name, 'aria-labelledby': 'pd-login-title', novalidate: true }, ...fields, error, button);
  const inputs = fields.filter((f) => f.tagName === 'INPUT');

  function setError(text, field = invalid) {
    error.textContent = text || '';
    for (const input of inputs) input.removeAttribute('aria-invalid');
    if (text && field) {
      field.setAttribute('aria-invalid', 'true');
      field.focus();
      field.select();
    }
  }

  let busy = false;
  el.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (busy) return;
    const problem = check();
    if (problem) return setError(problem[0], problem[1]);
    busy = true;
    button.disabled = true;
    button.textContent = 'Signing in…';
    setError('');
    let failure = null;
    try {
      failure = await submit();
    } finally {
      busy = false;
      button.disabled = false;
      button.textContent = 'Sign in';
    }
    // Once signed in, this form is gone from the page; an answer means it stays, with the error
    // (`{text, field: false}`: an error about no field, such as too many attempts).
    if (typeof failure === 'string') setError(failure);
    else if (failure) setError(failure.text, failure.field === false ? null : invalid);
  });

  return { el, setError, first: inputs[0] };
}
