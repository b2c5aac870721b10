// ui/setup.js — owns the screens that set a password from a one-time link: the first run ("Create
// the first admin", the link `parley serve` prints while nobody has a password,
// `/dashboard#setup=psl_…`: email, name, password and the password again) and an invitation or a
// reset link an admin handed out ("Choose your password", `#invite=psl_…` or `#reset=psl_…`: the
// password twice). It checks here what it can (an email, at least 8 characters, the two passwords
// the same) and shows the server's refusals in the same error line, read out to screen readers
// (role="alert"); app.js makes the call.

import { h } from '../../../shared/ui/dom.js';

export const MIN_PASSWORD = 8;

/** What each kind of link's screen says: the first admin, an invitation, a password reset. */
const KINDS = {
  setup: {
    title: 'Create the first admin',
    intro: 'Nobody can sign in to this Parley yet. The account you create here is its administrator; this link works once.',
    button: 'Create admin and sign in',
    busy: 'Creating…',
    email: true,
  },
  invite: {
    title: 'Choose your password',
    intro: 'You are invited to answer visitors on Parley. Choose the password you will sign in with; this link works once.',
    button: 'Set password and sign in',
    busy: 'Signing in…',
    email: false,
  },
  reset: {
    title: 'Choose your password',
    intro: 'Choose a new password. Your other sessions end when you save it; this link works once.',
    button: 'Set password and sign in',
    busy: 'Signing in…',
    email: false,
  },
};

/**
 * @param {object} o
 * @param {'setup'|'invite'|'reset'} [o.kind] which link this is (the first admin by default)
 * @param {(form: {email: string, name: string, password: string}) => Promise<string|null>} o.onSubmit
 *   resolves to an error to show, or null once the password is set and the person signed in
 */
export function createSetup({ onSubmit, kind = 'setup' }) {
  const text = KINDS[kind] || KINDS.setup;
  const input = (id, attrs) => h('input', Object.assign({ id, 'aria-describedby': 'pd-setup-error' }, attrs));
  const email = input('pd-setup-email', { name: 'email', type: 'email', autocomplete: 'username', inputmode: 'email', spellcheck: 'false', autocapitalize: 'off', required: true });
  const name = input('pd-setup-name', { name: 'name', type: 'text', autocomplete: 'name', maxlength: 100 });
  const password = input('pd-setup-password', {
    name: 'password',
    type: 'password',
    autocomplete: 'new-password',
    minlength: MIN_PASSWORD,
    required: true,
    'aria-describedby': 'pd-setup-password-hint pd-setup-error',
  });
  const again = input('pd-setup-again', { name: 'password-again', type: 'password', autocomplete: 'new-password', minlength: MIN_PASSWORD, required: true });
  const error = h('p', { id: 'pd-setup-error', class: 'error', role: 'alert' });
  const button = h('button', { type: 'submit', class: 'primary', text: text.button });
  const form = h(
    'form',
    { class: 'login-form', 'aria-labelledby': 'pd-setup-title', novalidate: true },
    text.email ? [h('label', { for: 'pd-setup-email', text: 'Email' }), email] : null,
    text.email ? [h('label', { for: 'pd-setup-name' }, 'Name ', h('span', { class: 'optional', text: '(optional)' })), name] : null,
    h('label', { for: 'pd-setup-password', text: 'Password' }),
    password,
    h('p', { id: 'pd-setup-password-hint', class: 'hint', text: 'At least ' + MIN_PASSWORD + ' characters.' }),
    h('label', { for: 'pd-setup-again', text: 'Password again' }),
    again,
    error,
    button,
  );
  const el = h(
    'main',
    { class: 'login', 'aria-labelledby': 'pd-setup-title' },
    h(
      'div',
      { class: 'login-card' },
      h('h1', { id: 'pd-setup-title', text: text.title }),
      h('p', { class: 'muted', text: text.intro }),
      form,
    ),
  );
  const fields = text.email ? [email, name, password, again] : [password, again];

  function setError(text, field) {
    error.textContent = text || '';
    for (const f of fields) f.removeAttribute('aria-invalid');
    if (text && field) {
      field.setAttribute('aria-invalid', 'true');
      field.focus();
    }
  }

  function check() {
    const address = email.value.trim();
    if (text.email && !address) return ['Enter your email.', email];
    if (text.email && !/^[^\s@]+@[^\s@]+$/.test(address)) return ['Enter an email address, such as you@example.com.', email];
    if (password.value.length < MIN_PASSWORD) return ['The password needs at least ' + MIN_PASSWORD + ' characters.', password];
    if (again.value !== password.value) return ['The two passwords differ. Type the same one twice.', again];
    return null;
  }

  let busy = false;
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (busy) return;
    const problem = check();
    if (problem) return setError(problem[0], problem[1]);
    busy = true;
    button.disabled = true;
    button.textContent = text.busy;
    setError('');
    let failure = null;
    try {
      failure = await onSubmit({ email: email.value.trim(), name: name.value.trim(), password: password.value });
    } finally {
      busy = false;
      button.disabled = false;
      button.textContent = text.button;
    }
    if (failure) setError(failure);
  });

  return { el, setError, focus: () => fields[0].focus() };
}
