// api.js — owns every HTTP call the dashboard makes: the agent API (docs/agent-api.md) and the
// sign-in API (`/api/auth/…`), through the shared client (X-Socket-ID, time-outs, ApiError, upload
// progress for file replies), never from the browser's cache. A dashboard is signed in one of two
// ways, its credential: a person's password session (`{kind: 'session', csrf}`: the HttpOnly
// cookie goes with every call, `credentials: 'same-origin'`, and every call carries the session's
// `X-CSRF-Token`, which the server requires on writes) or an agent token (`{kind: 'token', token}`:
// `Authorization: Bearer cba_…`, no cookie). A 401 on any call means the session ended or the
// token was revoked: `onUnauthorized` signs the agent out.

import { ApiError, createClient } from '../../shared/api.js';

export { ApiError };

/** The shared client's options for `credential` (see above). */
function clientOptions(credential) {
  if (credential?.kind === 'session') {
    const csrf = credential.csrf;
    return { token: null, headers: () => ({ 'X-CSRF-Token': csrf }), init: { cache: 'no-store', credentials: 'same-origin' } };
  }
  return { token: credential?.token, init: { cache: 'no-store' } };
}

/**
 * The calls made before anyone is signed in, all with the cookie: sign in with a password, ask
 * whether the cookie still signs this browser in (a reloaded page), whether the first admin is
 * still to be created, and create them with the setup link. A 401 here is an answer, not an end.
 */
export function createAuthApi({ baseUrl }) {
  const { request } = createClient({ baseUrl, token: null, init: { cache: 'no-store', credentials: 'same-origin' } });
  return {
    /** → {success, user, csrf_token, session_id}; the answer sets the session cookie. */
    login: (email, password) => request('POST', '/api/auth/login', { body: { email, password } }),
    /** The same answer for the cookie this browser holds; 401 when it signs nobody in. */
    session: () => request('GET', '/api/auth/session'),
    /** → {success, needed} */
    setupState: () => request('GET', '/api/auth/setup'),
    /** Creates the first admin with the one-time token and signs them in (201 as login). */
    setup: (token, { email, name, password }) => request('POST', '/api/auth/setup', { body: { token, email, name: name || undefined, password } }),
    /** Sets the password with an invitation or reset link and signs in (as login). */
    accept: (token, password) => request('POST', '/api/auth/accept', { body: { token, password } }),
  };
}

export function createApi({ baseUrl, credential, socketId = () => null, onUnauthorized = () => {} }) {
  const session = credential?.kind === 'session';
  const { base, request, upload } = createClient(Object.assign({ baseUrl, socketId, onUnauthorized }, clientOptions(credential)));

  const conv = (id) => '/api/agent/conversations/' + encodeURIComponent(id);
  const query = (params) => {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v != null && v !== '') q.set(k, String(v));
    const s = q.toString();
    return s ? '?' + s : '';
  };

  return {
    base,
    me: () => request('GET', '/api/agent/me'),
    // `seq` (this browser's clock) lets the server drop an update that arrives after a newer one:
    // a closing page's "offline" that lands after the reloaded page's "online".
    setAvailability: (availability) => request('PUT', '/api/agent/availability', { body: { availability, seq: Date.now() } }),
    heartbeat: () => request('POST', '/api/agent/heartbeat?seq=' + Date.now()),
    agents: () => request('GET', '/api/agent/agents'),
    /** {status, assigned, limit, before_updated} as in the spec. */
    conversations: (params) => request('GET', '/api/agent/conversations' + query(params)),
    conversation: (id, after = 0, limit = 200) => request('GET', conv(id) + query({ after, limit })),
    send: (id, message, clientId) => request('POST', conv(id) + '/messages', { body: { message, client_id: clientId } }),
    /** A file reply, with an optional caption; onProgress(0…1) while it uploads. */
    sendFile(id, { message, clientId, file }, onProgress) {
      const form = new FormData();
      if (message) form.append('message', message);
      form.append('client_id', clientId);
      form.append('attachment', file, file.name || 'file');
      return upload(conv(id) + '/messages', form, onProgress);
    },
    /** agentId undefined: me; null: nobody. */
    assign: (id, agentId) => request('POST', conv(id) + '/assign', { body: agentId === undefined ? {} : { agent_id: agentId } }),
    setStatus: (id, status) => request('POST', conv(id) + '/status', { body: { status } }),
    notes: (id) => request('GET', conv(id) + '/notes'),
    addNote: (id, body, mentionIds) => request('POST', conv(id) + '/notes', { body: { body, mention_ids: mentionIds || [] } }),
    labels: () => request('GET', '/api/agent/labels'),
    /** Who may take the conversation, with their load; and giving it to one of them. */
    transferTargets: (id) => request('GET', conv(id) + '/transfer'),
    transfer: (id, agentId, note) => request('POST', conv(id) + '/transfer', { body: note ? { agent_id: agentId, note } : { agent_id: agentId } }),
    setLabels: (id, labelIds) => request('PUT', conv(id) + '/labels', { body: { label_ids: labelIds } }),
    savedReplies: () => request('GET', '/api/agent/saved-replies'),
    createSavedReply: (shortcut, text) => request('POST', '/api/agent/saved-replies', { body: { shortcut, text } }),
    updateSavedReply: (id, shortcut, text) => request('PUT', '/api/agent/saved-replies/' + encodeURIComponent(id), { body: { shortcut, text } }),
    deleteSavedReply: (id) => request('DELETE', '/api/agent/saved-replies/' + encodeURIComponent(id)),
    react: (id, messageId, emoji, on) => request('POST', conv(id) + '/messages/' + encodeURIComponent(messageId) + '/reactions', { body: { emoji, on } }),
    markRead: (id, lastReadId) => request('POST', conv(id) + '/read', { body: { last_read_id: lastReadId } }),
    /**
     * Echo/pusher-js channel authorisation (form-encoded, as Laravel's endpoint expects), signed
     * in as the rest is: the cookie and X-CSRF-Token for a session, the bearer token otherwise.
     */
    authorize: (socketIdValue, channelName, provider) =>
      request('POST', '/api/agent/broadcasting/auth', { form: { socket_id: socketIdValue, channel_name: channelName, provider } }),
    /** Any call signed in as the rest (admin/api.js builds the /api/admin/… calls on it). */
    request: (method, path, body) => request(method, path, body === undefined ? {} : { body }),
    /** Whether this is a password session (which has sessions to list and a sign-out to call). */
    isSession: session,
    /** Ends a password session on the server (and its cookie); a token has nothing to end. */
    logout: () => (session ? request('POST', '/api/auth/logout') : Promise.resolve(null)),
    /** {success, sessions: [{id, created_at, last_seen_at, ip, user_agent, current}]} */
    sessions: () => request('GET', '/api/auth/sessions'),
    endSession: (id) => request('DELETE', '/api/auth/sessions/' + encodeURIComponent(id)),
    /** {success, token}: a new API token for scripts (the old one stops); shown only now. */
    newApiToken: () => request('POST', '/api/auth/token'),
    revokeApiToken: () => request('DELETE', '/api/auth/token'),
    /**
     * The page is going away: say so in a request that outlives it. The server keeps the agent
     * online for a short grace only, so a reload (which says hello again at once) shows visitors
     * nothing, and a closed tab drops out within seconds. sendBeacon cannot carry the
     * Authorization or X-CSRF-Token header; a keepalive fetch can.
     */
    goodbye() {
      const { token, headers, init } = clientOptions(credential);
      try {
        fetch(base + '/api/agent/heartbeat?leaving=true&seq=' + Date.now(), {
          method: 'POST',
          keepalive: true,
          credentials: init.credentials || 'omit',
          headers: token ? { Authorization: 'Bearer ' + token } : headers(),
        }).catch(() => {});
      } catch {
        /* the page is closing anyway; the 75 s window takes the agent offline */
      }
    },
  };
}
