// api.js — owns every HTTP call to the Parley server (base = ChatbotConfig.widgetUrl). It adds the
// widget token, the visitor token for calls about a conversation and X-Socket-ID when a socket is
// up (so the server leaves this tab's socket out of the broadcast), and turns every failure into
// an ApiError whose `retryable` says whether trying again can help. Uploads use XMLHttpRequest
// because fetch still cannot report upload progress.

import { ApiError, errorFrom } from '../../shared/api-error.js';

export { ApiError };

const TIMEOUT_MS = 20000;

export function createApi({ baseUrl, apiToken, session, socketId }) {
  const base = baseUrl.replace(/\/+$/, '');

  function headers(aboutConversation, json) {
    const h = { Authorization: 'Bearer ' + apiToken, Accept: 'application/json' };
    if (json) h['Content-Type'] = 'application/json';
    const s = session();
    if (aboutConversation && s) h['X-Visitor-Token'] = s.visitorToken;
    const sid = socketId();
    if (sid) h['X-Socket-ID'] = sid;
    return h;
  }

  async function request(method, path, { body, conversation = false, form } = {}) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), TIMEOUT_MS);
    let response;
    let text;
    try {
      const init = { method, headers: headers(conversation, body !== undefined), signal: controller.signal, credentials: 'omit' };
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
    if (!response.ok) throw errorFrom(response.status, text, response.headers.get('Retry-After'));
    try {
      return JSON.parse(text);
    } catch {
      throw new ApiError(response.status, 'bad_json', 'the server answered with something that is not JSON');
    }
  }

  function upload(path, formData, onProgress) {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open('POST', base + path);
      for (const [k, v] of Object.entries(headers(true, false))) xhr.setRequestHeader(k, v);
      xhr.timeout = 10 * 60 * 1000; // big files on slow links; progress events show it is alive
      xhr.upload.onprogress = (e) => {
        if (e.lengthComputable && onProgress) onProgress(e.loaded / e.total);
      };
      xhr.onload = () => {
        if (xhr.status >= 200 && xhr.status < 300) {
          try {
            resolve(JSON.parse(xhr.responseText));
          } catch {
            reject(new ApiError(xhr.status, 'bad_json', 'bad JSON'));
          }
        } else reject(errorFrom(xhr.status, xhr.responseText, xhr.getResponseHeader('Retry-After')));
      };
      xhr.onerror = () => reject(new ApiError(0, 'network', 'upload failed'));
      xhr.ontimeout = () => reject(new ApiError(0, 'timeout', 'upload timed out'));
      xhr.send(formData);
    });
  }

  const conv = (id) => '/api/chatbot/conversation/' + encodeURIComponent(id);

  return {
    base,
    /** Turns a server-relative attachment path into an absolute URL on the widget's server. */
    url(path) {
      if (typeof path !== 'string' || !path) return null;
      if (/^https?:\/\//i.test(path)) return path;
      return path.startsWith('/') ? base + path : null;
    },
    config: () => request('GET', '/api/chatbot/config'),
    startConversation: (body) => request('POST', '/api/chatbot/conversation', { body }),
    messagesAfter: (id, after, limit = 100) =>
      request('GET', conv(id) + '?after=' + encodeURIComponent(after) + '&limit=' + limit, { conversation: true }),
    sendText: (id, message, clientId) =>
      request('POST', conv(id) + '/messages', { body: { message, client_id: clientId }, conversation: true }),
    sendFile(id, { message, clientId, file, fileName, isVoice }, onProgress) {
      const form = new FormData();
      if (message) form.append('message', message);
      form.append('client_id', clientId);
      if (isVoice) form.append('is_voice', '1');
      form.append('attachment', file, fileName || file.name || 'file');
      return upload(conv(id) + '/messages', form, onProgress);
    },
    markRead: (id, lastReadId) => request('POST', conv(id) + '/read', { body: { last_read_id: lastReadId }, conversation: true }),
    react: (id, messageId, emoji, on) =>
      request('POST', conv(id) + '/messages/' + encodeURIComponent(messageId) + '/reactions', { body: { emoji, on }, conversation: true }),
    /** Echo/pusher-js channel authorisation (form-encoded, as Laravel's endpoint expects). */
    authorize: (socketIdValue, channelName, provider) =>
      request('POST', '/api/chatbot/broadcasting/auth', {
        conversation: true,
        form: { socket_id: socketIdValue, channel_name: channelName, provider },
      }),
  };
}
