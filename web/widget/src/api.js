// api.js — owns every HTTP call to the Parley server's chat API (base = ChatbotConfig.widgetUrl),
// through the shared client (the widget token, X-Socket-ID, time-outs, ApiError, upload
// progress); it adds the visitor token, and a signed-in visitor's credential, to calls about a
// conversation (messages, read receipts, reactions, the visitor's rating).

import { ApiError, createClient } from '../../shared/api.js';

export { ApiError };

export function createApi({ baseUrl, apiToken, session, socketId, identity = null, onReach = () => {} }) {
  const { base, request, upload } = createClient({
    baseUrl,
    token: apiToken,
    socketId,
    onReach,
    // A signed-in visitor's credential goes with every call about a conversation; a conversation
    // reopened from another device has no visitor token in this browser, only the credential.
    headers: (conversation) => {
      if (!conversation) return null;
      const s = session();
      const headers = Object.assign({}, identity?.headers);
      if (s?.visitorToken) headers['X-Visitor-Token'] = s.visitorToken;
      return headers;
    },
  });

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
    startConversation: (body) => request('POST', '/api/chatbot/conversation', { body: Object.assign({}, body, identity?.body) }),
    /** The signed-in visitor's conversations on this widget, newest first (any device). */
    conversations: () => request('GET', '/api/chatbot/conversations', { conversation: true }),
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
      return upload(conv(id) + '/messages', form, onProgress, { conversation: true });
    },
    markRead: (id, lastReadId) => request('POST', conv(id) + '/read', { body: { last_read_id: lastReadId }, conversation: true }),
    react: (id, messageId, emoji, on) =>
      request('POST', conv(id) + '/messages/' + encodeURIComponent(messageId) + '/reactions', { body: { emoji, on }, conversation: true }),
    rate: (id, score, comment) => request('POST', conv(id) + '/rating', { body: { score, comment }, conversation: true }),
    /** The open widget's heartbeat: the visitor is connected, so agents' replies are not emailed. */
    /** The heartbeat; `pageUrl`, the page the visitor is on, shows in the agents' inbox. */
    seen: (id, pageUrl) => request('POST', conv(id) + '/seen', { body: pageUrl ? { page_url: String(pageUrl).slice(0, 2000) } : undefined, conversation: true }),
    /** Leaves the visitor's email for the reply while the team is away (the server emails it). */
    leaveEmail: (id, email) => request('POST', conv(id) + '/email', { body: { email }, conversation: true }),
    /** Emails the conversation so far to the visitor's address (202). */
    transcript: (id) => request('POST', conv(id) + '/transcript', { conversation: true }),
    /** Trades a mailed link's key for a visitor token of that conversation. */
    resume: (id, key) => request('POST', conv(id) + '/resume', { body: { key } }),
    /** Echo/pusher-js channel authorisation (form-encoded, as Laravel's endpoint expects). */
    authorize: (socketIdValue, channelName, provider) =>
      request('POST', '/api/chatbot/broadcasting/auth', {
        conversation: true,
        form: { socket_id: socketIdValue, channel_name: channelName, provider },
      }),
  };
}
