// api.js — owns every HTTP call the dashboard makes to the agent API (docs/agent-api.md): it adds
// `Authorization: Bearer <agent token>`, X-Socket-ID when a socket is up (so the server leaves
// this tab's socket out of the broadcast), a time-out, and turns every failure into an ApiError
// whose `retryable` says whether trying again can help. A 401 on any call means the token was
// revoked: `onUnauthorized` signs the agent out. File replies go as multipart through
// XMLHttpRequest, because fetch still cannot report upload progress.

import { ApiError, errorFrom } from '../../shared/api-error.js';

export { ApiError };

const TIMEOUT_MS = 20000;

export function createApi({ baseUrl, token, socketId = () => null, onUnauthorized = () => {} }) {
  const base = baseUrl.replace(/\/+$/, '');

  function headers(json) {
    const h = { Authorization: 'Bearer ' + token, Accept: 'application/json' };
    if (json) h['Content-Type'] = 'application/json';
    const sid = socketId();
    if (sid) h['X-Socket-ID'] = sid;
    return h;
  }

  async function request(method, path, { body, form } = {}) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), TIMEOUT_MS);
    let response;
    let text;
    try {
      const init = { method, headers: headers(body !== undefined), signal: controller.signal, credentials: 'omit', cache: 'no-store' };
      if (body !== undefined) init.body = JSON.stringify(body);
      if (form) {
        init.headers['Content-Type'] = 'application/x-www-form-urlencoded';
        init.body = new URLSearchParams(form).toString();
      }
      response = await fetch(base + path, init);
      text = await response.text();
    } catch (error) {
      throw new ApiError(0, controller.signal.aborted ? 'timeout' : 'network', String(error?.message || error));
    } finally {
      clearTimeout(timer);
    }
    if (!response.ok) {
      const error = errorFrom(response.status, text, response.headers.get('Retry-After'));
      if (response.status === 401) onUnauthorized(error);
      throw error;
    }
    try {
      return JSON.parse(text);
    } catch {
      throw new ApiError(response.status, 'bad_json', 'the server answered with something that is not JSON');
    }
  }

  /** multipart POST with upload progress (0…1); answers and fails like request(). */
  function upload(path, form, onProgress) {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open('POST', base + path);
      for (const [k, v] of Object.entries(headers(false))) xhr.setRequestHeader(k, v);
      xhr.timeout = 10 * 60 * 1000; // big files on slow links; progress shows it is alive
      xhr.upload.onprogress = (e) => e.lengthComputable && onProgress?.(e.loaded / e.total);
      xhr.onload = () => {
        if (xhr.status >= 200 && xhr.status < 300) {
          try {
            return resolve(JSON.parse(xhr.responseText));
          } catch {
            return reject(new ApiError(xhr.status, 'bad_json', 'the server answered with something that is not JSON'));
          }
        }
        const error = errorFrom(xhr.status, xhr.responseText, xhr.getResponseHeader('Retry-After'));
        if (xhr.status === 401) onUnauthorized(error);
        reject(error);
      };
      xhr.onerror = () => reject(new ApiError(0, 'network', 'The upload failed: no answer from the server.'));
      xhr.ontimeout = () => reject(new ApiError(0, 'timeout', 'The upload timed out.'));
      xhr.send(form);
    });
  }

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
