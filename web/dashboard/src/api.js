// api.js — owns every HTTP call the dashboard makes to the agent API (docs/agent-api.md), through
// the shared client (`Authorization: Bearer <agent token>`, X-Socket-ID, time-outs, ApiError,
// upload progress for file replies), never from the browser's cache. A 401 on any call means the
// token was revoked: `onUnauthorized` signs the agent out.

import { ApiError, createClient } from '../../shared/api.js';

export { ApiError };

export function createApi({ baseUrl, token, socketId = () => null, onUnauthorized = () => {} }) {
  const { base, request, upload } = createClient({ baseUrl, token, socketId, onUnauthorized, init: { cache: 'no-store' } });

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
    savedReplies: () => request('GET', '/api/agent/saved-replies'),
    createSavedReply: (shortcut, text) => request('POST', '/api/agent/saved-replies', { body: { shortcut, text } }),
    deleteSavedReply: (id) => request('DELETE', '/api/agent/saved-replies/' + encodeURIComponent(id)),
    react: (id, messageId, emoji, on) => request('POST', conv(id) + '/messages/' + encodeURIComponent(messageId) + '/reactions', { body: { emoji, on } }),
    markRead: (id, lastReadId) => request('POST', conv(id) + '/read', { body: { last_read_id: lastReadId } }),
    /** Echo/pusher-js channel authorisation (form-encoded, as Laravel's endpoint expects). */
    authorize: (socketIdValue, channelName, provider) =>
      request('POST', '/api/agent/broadcasting/auth', { form: { socket_id: socketIdValue, channel_name: channelName, provider } }),
    /**
     * The page is going away: say so in a request that outlives it. The server keeps the agent
     * online for a short grace only, so a reload (which says hello again at once) shows visitors
     * nothing, and a closed tab drops out within seconds. sendBeacon cannot carry the
     * Authorization header; a keepalive fetch can.
     */
    goodbye() {
      try {
        fetch(base + '/api/agent/heartbeat?leaving=true&seq=' + Date.now(), {
          method: 'POST',
          keepalive: true,
          credentials: 'omit',
          headers: { Authorization: 'Bearer ' + token },
        }).catch(() => {});
      } catch {
        /* the page is closing anyway; the 75 s window takes the agent offline */
      }
    },
  };
}
