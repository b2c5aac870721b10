// app.js — owns signing in and out: with no stored token it shows the sign-in form; a token is
// checked with GET /api/agent/me before anything else loads (no socket, no inbox for a bad
// token); a good one is kept in localStorage and the workspace starts. A refused token (at
// start-up or later, e.g. revoked) brings the form back with the reason. Signing out in one tab
// signs out the others (the storage event).

import { createApi } from './api.js';
import { createStorage } from './storage.js';
import { h } from '../../shared/ui/dom.js';
import { createLogin } from './ui/login.js';
import { createWorkspace } from './workspace.js';

const TOKEN_KEY = 'parley-dashboard:token';

export function createApp({ root, baseUrl, options = {} }) {
  const storage = createStorage();
  let workspace = null;
  let retryTimer = null;

  function showLogin(error) {
    workspace?.stop();
    workspace = null;
    clearTimeout(retryTimer);
    document.title = 'Sign in · Parley inbox';
    const login = createLogin({
      onSubmit: async (token) => {
        const problem = await signIn(token, { interactive: true });
        if (problem) login.setError(problem);
      },
    });
    root.replaceChildren(login.el);
    root.removeAttribute('aria-busy');
    login.setError(error || '');
    login.focus();
  }

  function showWaiting(text) {
    root.replaceChildren(h('main', { class: 'login' }, h('div', { class: 'login-card', role: 'status' }, h('h1', { text: 'Parley inbox' }), h('p', { text }))));
  }

  /** Checks `token`; resolves to an error to show, or null once the workspace runs. */
  async function signIn(token, { interactive = false, attempt = 0 } = {}) {
    const api = createApi({ baseUrl, token });
    let me;
    try {
      me = await api.me();
    } catch (error) {
      if (error.status === 401 || error.status === 403) {
        storage.setToken(null);
        return interactive ? 'This token was not accepted. Check it and try again.' : 'Your session has ended. Sign in again.';
      }
      if (interactive) return 'Cannot reach the server (' + (error.message || error.code) + '). Try again.';
      // A stored token and the server is down or restarting: keep trying, gently.
      showWaiting('Cannot reach the server. Trying again…');
      retryTimer = setTimeout(() => signIn(token, { attempt: attempt + 1 }).then((p) => p && showLogin(p)), Math.min(30000, 1000 * 2 ** attempt));
      return null;
    }
    if (!me || !me.agent || typeof me.agent !== 'object') return 'The server answered, but not as expected.';
    storage.setToken(token);
    workspace = createWorkspace({
      root,
      baseUrl,
      token,
      me,
      storage,
      options,
      onEnd: (reason) => {
        workspace = null;
        storage.clear();
        showLogin(reason);
      },
    });
    workspace.start();
    return null;
  }

  return {
    async start() {
      window.addEventListener('storage', (e) => {
        if (e.key !== TOKEN_KEY && e.key !== null) return;
        const token = storage.token();
        if (!token && workspace) {
          workspace.stop();
          workspace = null;
          showLogin('You signed out in another tab.');
        } else if (token && !workspace) {
          signIn(token).then((p) => p && showLogin(p));
        }
      });
      const token = storage.token();
      if (!token) return showLogin();
      showWaiting('Signing in…');
      const problem = await signIn(token);
      if (problem) showLogin(problem);
    },
  };
}
