// app.js — owns signing in and out. On load it asks the server whether the session cookie signs
// this browser in (GET /api/auth/session: a reloaded page stays signed in), else uses a stored
// agent token, else shows the sign-in form (email and password; a token behind "Use an API token
// instead", or first while nobody has a password yet). The first-run link (`#setup=psl_…`) shows
// "Create the first admin" instead while the server says one is needed; an invitation or reset
// link (`#invite=psl_…`, `#reset=psl_…`) shows "Choose your password". Whichever way,
// GET /api/agent/me is checked before anything else loads (no socket, no inbox for a refused
// sign-in), then the workspace starts.
//
// A password session keeps no secret in the page's storage: the cookie is HttpOnly and the CSRF
// token lives in memory (GET /api/auth/session gives it again). localStorage holds the session's
// id as a marker, and an agent token the token itself. Either one appearing or going away is how
// the other tabs of this browser hear that it signed in or out (the storage event). A refused
// credential (at start-up or later: the session ended, the token was revoked) brings the form back
// with the reason.

import { createApi, createAuthApi } from './api.js';
import { createStorage } from './storage.js';
import { h } from '../../shared/ui/dom.js';
import { createLogin } from './ui/login.js';
import { createSetup } from './ui/setup.js';
import { createWorkspace } from './workspace.js';

const TOKEN_KEY = 'parley-dashboard:token';
const SESSION_KEY = 'parley-dashboard:session';
const SETUP_HASH = /^#setup=([^&]+)$/;
const ACCEPT_HASH = /^#(invite|reset)=([^&]+)$/;

const ENDED = { session: 'Your session has ended. Sign in again.', token: 'The server no longer accepts your token. Sign in again.' };

export function createApp({ root, baseUrl, options = {} }) {
  const storage = createStorage();
  const auth = createAuthApi({ baseUrl });
  /** The running workspace and how it is signed in: {kind: 'session'|'token', sessionId, workspace}. */
  let current = null;
  let retryTimer = null;
  let screen = 0; // counts what was shown, so an answer that comes late shows nothing over it

  // ---- the screens --------------------------------------------------------------------------

  function stopWorkspace() {
    current?.workspace.stop();
    current = null;
    clearTimeout(retryTimer);
  }

  /**
   * The sign-in form; `error` is why (an error), `notice` a plain word; `mode` the form first
   * shown. Without one, the email and password form, unless nobody has a password yet (a new
   * install, the demo agent's token printed by `parley serve`): then the token form, saying so.
   */
  async function showLogin({ error = '', notice = '', mode } = {}) {
    stopWorkspace();
    const shown = ++screen;
    if (!mode) {
      const needed = await auth.setupState().then((res) => res?.needed === true, () => false);
      if (shown !== screen) return; // something else was shown meanwhile (another tab signed in)
      mode = needed ? 'token' : 'password';
      if (needed && !notice) notice = 'Nobody has a password here yet. Sign in with an agent token, or create the first admin with the link "parley serve" printed.';
    }
    document.title = 'Sign in · Parley inbox';
    const login = createLogin({
      mode,
      onPassword: (email, password) => signInWithPassword(email, password),
      onToken: (token) => signIn(token, { interactive: true }),
    });
    root.replaceChildren(login.el);
    root.removeAttribute('aria-busy');
    login.setNotice(notice);
    login.setError(error);
    login.focus();
  }

  function showWaiting(text) {
    root.replaceChildren(h('main', { class: 'login' }, h('div', { class: 'login-card', role: 'status' }, h('h1', { text: 'Parley inbox' }), h('p', { text }))));
  }

  /** The server is down or restarting: say so and try `again` later, gently. */
  function retry(again, attempt) {
    showWaiting('Cannot reach the server. Trying again…');
    clearTimeout(retryTimer);
    retryTimer = setTimeout(() => again(attempt + 1), Math.min(30000, 1000 * 2 ** attempt));
  }

  const unreachable = (error) => error.status === 0 || error.status >= 500;

  // ---- the workspace ------------------------------------------------------------------------

  /**
   * Checks `credential` with GET /api/agent/me and starts the workspace. Resolves to null once it
   * runs, or to the ApiError that refused it.
   */
  async function enter(credential) {
    const api = createApi({ baseUrl, credential });
    const me = await api.me();
    if (!me || !me.agent || typeof me.agent !== 'object') throw Object.assign(new Error('The server answered, but not as expected.'), { status: -1 });
    stopWorkspace();
    screen++;
    if (credential.kind === 'session') {
      storage.setToken(null);
      storage.setSession({ id: credential.sessionId });
    } else {
      storage.setToken(credential.token);
    }
    const workspace = createWorkspace({
      root,
      baseUrl,
      credential,
      me,
      storage,
      options,
      endedMessage: ENDED[credential.kind],
      onEnd: (reason) => {
        if (current?.workspace === workspace) current = null;
        storage.clear();
        showLogin({ error: reason || '', mode: credential.kind === 'token' ? 'token' : 'password' });
      },
    });
    current = { kind: credential.kind, sessionId: credential.sessionId ?? null, workspace };
    workspace.start();
    return null;
  }

  /** The credential for an answer of /api/auth/login, /session or /setup. */
  const sessionOf = (body) => ({ kind: 'session', csrf: body.csrf_token, sessionId: body.session_id });

  /** Checks `token`; resolves to an error to show, or null once the workspace runs. */
  async function signIn(token, { interactive = false, attempt = 0 } = {}) {
    try {
      return await enter({ kind: 'token', token });
    } catch (error) {
      if (error.status === 401 || error.status === 403) {
        storage.setToken(null);
        return interactive ? 'This token was not accepted. Check it and try again.' : ENDED.session;
      }
      if (error.status === -1) return error.message;
      if (interactive) return 'Cannot reach the server (' + (error.message || error.code) + '). Try again.';
      // A stored token and the server is down or restarting: keep trying.
      retry((n) => signIn(token, { attempt: n }).then((p) => p && showLogin({ error: p, mode: 'token' })), attempt);
      return null;
    }
  }

  /** POST /api/auth/login; resolves to an error for the form, or null once the workspace runs. */
  async function signInWithPassword(email, password) {
    let body;
    try {
      body = await auth.login(email, password);
    } catch (error) {
      if (error.status === 429) return { text: 'Too many attempts, try again in ' + (error.retryAfter ?? 60) + ' s.', field: false };
      if (error.status === 401) return 'The email or the password is wrong.';
      if (error.status === 0) return { text: 'Cannot reach the server (' + (error.message || error.code) + '). Try again.', field: false };
      return { text: 'Could not sign in: ' + (error.message || error.code) + '.', field: false };
    }
    return enterSession(body, { interactive: true });
  }

  /** Starts the workspace with a session the server just gave; resolves to an error or null. */
  async function enterSession(body, { interactive = false, attempt = 0 } = {}) {
    try {
      return await enter(sessionOf(body));
    } catch (error) {
      if (error.status === -1) return { text: error.message, field: false };
      if (error.status === 401 || error.status === 403) return { text: ENDED.session, field: false };
      if (interactive || !unreachable(error)) return { text: 'Cannot reach the server (' + (error.message || error.code) + '). Try again.', field: false };
      retry((n) => resume({ attempt: n }), attempt);
      return null;
    }
  }

  /**
   * A page that loads (or a tab told that another signed in): the cookie's session if there is
   * one, else a stored token, else the form (with `notice`).
   */
  async function resume({ notice = '', attempt = 0 } = {}) {
    let body = null;
    try {
      body = await auth.session();
    } catch (error) {
      if (unreachable(error)) return retry((n) => resume({ notice, attempt: n }), attempt);
      if (storage.session()) storage.setSession(null); // it ended while no tab was open
    }
    if (body) {
      const problem = await enterSession(body, { attempt });
      if (problem) showLogin({ error: problem.text || problem, mode: 'password' });
      return;
    }
    const token = storage.token();
    if (!token) return showLogin({ notice });
    const problem = await signIn(token);
    if (problem) showLogin({ error: problem, mode: 'token' });
  }

  // ---- the first admin ----------------------------------------------------------------------

  /** Takes the one-time token out of the address (it is used, or of no use). */
  function forgetSetupLink() {
    if (SETUP_HASH.test(location.hash) || ACCEPT_HASH.test(location.hash)) history.replaceState(history.state, '', location.pathname + location.search);
  }

  async function firstRun(token) {
    let needed = true;
    try {
      needed = (await auth.setupState())?.needed !== false;
    } catch {
      /* the form's own call will say what is wrong */
    }
    if (!needed) {
      forgetSetupLink();
      if (current) return; // signed in already: the link is of no use, and nothing changes
      return resume({ notice: 'Parley already has an admin, so this setup link is not needed. Sign in with your email and password.' });
    }
    showSetup(token);
  }

  function showSetup(token) {
    stopWorkspace();
    screen++;
    document.title = 'Create the first admin · Parley inbox';
    const setup = createSetup({
      async onSubmit(form) {
        let body;
        try {
          body = await auth.setup(token, form);
        } catch (error) {
          if (error.status === 409) {
            forgetSetupLink();
            showLogin({ notice: 'Parley already has an admin. Sign in with your email and password.', mode: 'password' });
            return null;
          }
          if (error.status === 401) {
            forgetSetupLink();
            showLogin({ error: 'This setup link is no longer valid: it works once, and restarting the server prints a new one.' });
            return null;
          }
          if (error.status === 0) return 'Cannot reach the server (' + (error.message || error.code) + '). Try again.';
          return 'Could not create the admin: ' + (error.message || error.code) + '.';
        }
        forgetSetupLink();
        const problem = await enterSession(body, { interactive: true });
        if (problem) showLogin({ error: problem.text || problem, mode: 'password' });
        return null;
      },
    });
    root.replaceChildren(setup.el);
    root.removeAttribute('aria-busy');
    setup.focus();
  }

  // ---- an invitation or a reset link ------------------------------------------------------------

  function showAccept(kind, token) {
    stopWorkspace();
    screen++;
    document.title = 'Choose your password · Parley inbox';
    const form = createSetup({
      kind,
      async onSubmit({ password }) {
        let body;
        try {
          body = await auth.accept(token, password);
        } catch (error) {
          if (error.status === 401) {
            forgetSetupLink();
            showLogin({ error: 'This link is no longer valid: it works once and expires. Ask an admin for a new one.', mode: 'password' });
            return null;
          }
          if (error.status === 0) return 'Cannot reach the server (' + (error.message || error.code) + '). Try again.';
          return 'Could not set the password: ' + (error.message || error.code) + '.';
        }
        forgetSetupLink();
        const problem = await enterSession(body, { interactive: true });
        if (problem) showLogin({ error: problem.text || problem, mode: 'password' });
        return null;
      },
    });
    root.replaceChildren(form.el);
    root.removeAttribute('aria-busy');
    form.focus();
  }

  /** The link in the address, if any: true when its screen is shown. */
  function followLink() {
    const setup = SETUP_HASH.exec(location.hash);
    if (setup) {
      firstRun(decodeURIComponent(setup[1]));
      return true;
    }
    const accept = ACCEPT_HASH.exec(location.hash);
    if (accept) {
      showAccept(accept[1], decodeURIComponent(accept[2]));
      return true;
    }
    return false;
  }

  // ---- the other tabs -----------------------------------------------------------------------

  function onStorage(e) {
    if (e.key !== TOKEN_KEY && e.key !== SESSION_KEY && e.key !== null) return;
    const token = storage.token();
    const marker = storage.session();
    if (current) {
      const gone = current.kind === 'token' ? !token : !marker;
      if (gone) {
        showLogin({ notice: 'You signed out in another tab.', mode: current.kind === 'token' ? 'token' : 'password' });
      } else if (current.kind === 'session' && marker.id !== current.sessionId) {
        // Another tab signed in anew: the cookie is that session's now, so this tab takes it up.
        stopWorkspace();
        resume();
      }
      return;
    }
    if (e.key === SESSION_KEY && marker) {
      forgetSetupLink();
      resume();
    }
    else if (e.key === TOKEN_KEY && token) signIn(token).then((p) => p && showLogin({ error: p, mode: 'token' }));
  }

  return {
    async start() {
      window.addEventListener('storage', onStorage);
      // The link opened in a tab that shows the dashboard already changes only the hash.
      window.addEventListener('hashchange', () => followLink());
      if (followLink()) return;
      showWaiting('Signing in…');
      await resume();
    },
  };
}
