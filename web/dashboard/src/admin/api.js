// admin/api.js — owns the administration calls (docs/agent-api.md, "Administration"): the team,
// the widgets, their bot's knowledge, the audit log, visitors' data (export, erase) and the webhooks, made through the workspace's client so
// they are signed in as the rest (the cookie and X-CSRF-Token, or the bearer token). Errors are
// the shared client's ApiError, whose message is the server's own ("the last admin…").

export function createAdminApi(api) {
  const call = (method, path, body) => api.request(method, '/api/admin' + path, body);
  const id = (v) => encodeURIComponent(v);
  return {
    users: () => call('GET', '/users'),
    invite: ({ email, name, role }) => call('POST', '/users', { email, name: name || undefined, role }),
    updateUser: (userId, patch) => call('PATCH', '/users/' + id(userId), patch),
    disable: (userId) => call('POST', '/users/' + id(userId) + '/disable'),
    resetLink: (userId) => call('POST', '/users/' + id(userId) + '/reset-link'),
    setUserWidgets: (userId, widgetIds) => call('PUT', '/users/' + id(userId) + '/widgets', { widget_ids: widgetIds }),
    widgets: () => call('GET', '/widgets'),
    createWidget: (body) => call('POST', '/widgets', body),
    updateWidget: (widgetId, patch) => call('PATCH', '/widgets/' + id(widgetId), patch),
    newToken: (widgetId) => call('POST', '/widgets/' + id(widgetId) + '/token'),
    newIdentitySecret: (widgetId) => call('POST', '/widgets/' + id(widgetId) + '/identity-secret'),
    revoke: (widgetId) => call('POST', '/widgets/' + id(widgetId) + '/revoke'),
    knowledge: (widgetId, q) => call('GET', '/widgets/' + id(widgetId) + '/knowledge' + (q ? '?q=' + encodeURIComponent(q) : '')),
    addEntry: (widgetId, entry) => call('POST', '/widgets/' + id(widgetId) + '/knowledge', entry),
    updateEntry: (widgetId, index, entry) => call('PUT', '/widgets/' + id(widgetId) + '/knowledge/' + id(index), entry),
    deleteEntry: (widgetId, index) => call('DELETE', '/widgets/' + id(widgetId) + '/knowledge/' + id(index)),
    tryBot: (widgetId, message) => call('POST', '/widgets/' + id(widgetId) + '/bot/try', { message }),
    exportVisitor: (selection) => call('GET', '/visitors/export?' + new URLSearchParams(selection)),
    eraseVisitor: (selection) => call('POST', '/visitors/erase', selection),
    labels: () => api.request('GET', '/api/agent/labels'),
    createLabel: (label) => call('POST', '/labels', label),
    updateLabel: (labelId, patch) => call('PATCH', '/labels/' + id(labelId), patch),
    deleteLabel: (labelId) => call('DELETE', '/labels/' + id(labelId)),
    webhooks: () => call('GET', '/webhooks'),
    createWebhook: (body) => call('POST', '/webhooks', body),
    updateWebhook: (webhookId, patch) => call('PATCH', '/webhooks/' + id(webhookId), patch),
    deleteWebhook: (webhookId) => call('DELETE', '/webhooks/' + id(webhookId)),
    testWebhook: (webhookId) => call('POST', '/webhooks/' + id(webhookId) + '/test'),
    webhookDeliveries: (webhookId, before, limit = 20) =>
      call('GET', '/webhooks/' + id(webhookId) + '/deliveries?limit=' + encodeURIComponent(limit) + (before != null ? '&before=' + encodeURIComponent(before) : '')),
    audit: (before) => call('GET', '/audit?limit=50' + (before != null ? '&before=' + encodeURIComponent(before) : '')),
  };
}
