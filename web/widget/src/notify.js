// notify.js — owns getting the visitor's attention while the tab is hidden: an unread count in
// the page title (restored when the tab is visible again) and the shared chime.

import { createAttention } from '../../shared/notify.js';

export function createNotifier({ t, sound = true }) {
  let baseTitle = null;
  let ourTitle = null;

  function restore() {
    // Only undo our own change: the host page may have set a new title meanwhile.
    if (baseTitle != null && document.title === ourTitle) document.title = baseTitle;
    baseTitle = ourTitle = null;
  }

  const chime = createAttention({ sound, tone: [880, 1175, 0.09, 0.15, 0.3], onVisible: restore });

  return {
    /** New messages from the other side arrived while the visitor was not looking. */
    alert(unread) {
      if (!document.hidden) return;
      if (baseTitle == null || document.title !== ourTitle) baseTitle = document.title;
      ourTitle = t('titleNewMessage', { count: unread }) + ' · ' + baseTitle;
      document.title = ourTitle;
      chime();
    },
    restore,
  };
}
