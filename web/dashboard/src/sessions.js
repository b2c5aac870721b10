// sessions.js — owns this person's sessions as the "Sessions" dialog shows them (password sign-in
// only: a token has none): read with GET /api/auth/sessions when the dialog opens, and signing
// another one out with DELETE /api/auth/sessions/{id}, then read again. One already gone (404) is
// simply read again; other failures are said in the dialog. Also their API token: POST or DELETE
// /api/auth/token.

export function createSessions({ api, view }) {
  async function load() {
    view.loading();
    try {
      const res = await api.sessions();
      const sessions = Array.isArray(res?.sessions) ? res.sessions.filter((s) => s && s.id != null) : [];
      view.render(sessions);
    } catch (error) {
      if (error?.status !== 401) view.setError('Could not load your sessions: ' + error.message);
    }
  }

  return {
    /** Opens the dialog from `from` (the header's button) and reads the sessions. */
    open(from) {
      view.open(from);
      return load();
    },
    load,
    async newToken() {
      try {
        const res = await api.newApiToken();
        if (typeof res?.token === 'string') view.showToken(res.token);
      } catch (error) {
        if (error?.status !== 401) view.tokenError('Could not make a token: ' + error.message);
      }
    },
    async revokeToken() {
      try {
        await api.revokeApiToken();
        view.tokenRevoked();
      } catch (error) {
        if (error?.status !== 401) view.tokenError('Could not revoke the token: ' + error.message);
      }
    },
    async end(session) {
      try {
        await api.endSession(session.id);
      } catch (error) {
        if (error?.status === 401) return;
        if (error?.status !== 404) view.setError('Could not sign that session out: ' + error.message);
      }
      await load();
    },
  };
}
