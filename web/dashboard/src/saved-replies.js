// saved-replies.js — owns the team's saved replies as the dashboard holds them: read with
// GET /api/agent/saved-replies (malformed entries left out), added, changed (PUT) and deleted
// through the API, read again after each change, and handed to the side panel (`render`) and the
// composer's `/shortcut` (`list`). A refused addition or change (a taken shortcut, say) is thrown
// to the form, which shows it; other failures are toasts.

export function createSavedReplies({ api, render, toast }) {
  let replies = [];

  async function load() {
    try {
      const res = await api.savedReplies();
      replies = Array.isArray(res?.saved_replies) ? res.saved_replies.filter((r) => r && typeof r.shortcut === 'string' && typeof r.text === 'string') : [];
      render(replies);
    } catch (error) {
      if (error?.status !== 401) toast('Could not load saved replies: ' + error.message, { error: true });
    }
  }

  return {
    list: () => replies,
    load,
    async add(shortcut, text) {
      await api.createSavedReply(shortcut, text);
      await load();
    },
    async update(reply, shortcut, text) {
      await api.updateSavedReply(reply.id, shortcut, text);
      await load();
    },
    remove: (reply) =>
      api
        .deleteSavedReply(reply.id)
        .catch((e) => e?.status !== 401 && e?.status !== 404 && toast('Could not delete: ' + e.message, { error: true }))
        .then(load),
  };
}
