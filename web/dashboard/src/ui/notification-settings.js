// ui/notification-settings.js — owns the "Notifications" dialog (from the header): which news
// gets the agent's attention (a new conversation, a message in their conversation, a mention, a
// handoff), the chime, and desktop notifications, which the browser is asked for only when the
// agent clicks "Allow" (and which says so when the browser has them blocked). A native modal
// <dialog>: focus moves into it, Escape closes it, focus goes back to the header's button.

import { h } from '../../../shared/ui/dom.js';
import { ensureAdminStyles } from '../admin/style.js';
import { KINDS, desktopPermission } from '../notify.js';

const PERMISSION_TEXT = {
  granted: 'Desktop notifications are allowed in this browser.',
  denied: 'This browser blocks desktop notifications for Parley: allow them in the site settings.',
  default: 'Desktop notifications are not allowed yet.',
  unsupported: 'This browser has no desktop notifications.',
};

export function createNotificationSettings({ notifier }) {
  ensureAdminStyles();
  const boxes = new Map();
  const row = (key, text, hint) => {
    const id = 'pd-notify-' + key;
    const box = h('input', { type: 'checkbox', id });
    box.addEventListener('change', () => notifier.save({ [key]: box.checked }));
    boxes.set(key, box);
    return h('div', { class: 'adm-field adm-check' }, box, h('label', { for: id, text }), hint ? h('p', { class: 'hint', text: hint }) : null);
  };
  const permission = h('p', { class: 'muted', role: 'status' });
  const allow = h('button', { type: 'button', class: 'primary', text: 'Allow desktop notifications' });
  allow.addEventListener('click', async () => {
    await notifier.allowDesktop();
    draw();
  });
  const close = h('button', { type: 'button', class: 'ghost', text: 'Close' });
  const el = h(
    'dialog',
    { class: 'sessions-dialog notify-dialog', 'aria-labelledby': 'pd-notify-title' },
    h('h2', { id: 'pd-notify-title', text: 'Notifications' }),
    h('p', { class: 'muted', text: 'What gets your attention. Nothing comes for the conversation you are looking at.' }),
    h('fieldset', { class: 'adm-visitors' }, h('legend', { text: 'Tell me about' }), ...KINDS.map(([key, text]) => row(key, text))),
    h('fieldset', { class: 'adm-visitors' }, h('legend', { text: 'How' }), row('sound', 'A chime'), row('desktop', 'A desktop notification when this tab is not in front'), permission, allow),
    h('div', { class: 'dialog-actions' }, close),
  );
  let opener = null;
  close.addEventListener('click', () => el.close());
  el.addEventListener('close', () => opener?.focus());

  function draw() {
    const s = notifier.settings();
    for (const [key, box] of boxes) box.checked = s[key] !== false;
    const state = desktopPermission();
    permission.textContent = PERMISSION_TEXT[state] || PERMISSION_TEXT.default;
    allow.hidden = state !== 'default';
  }

  return {
    el,
    open(from) {
      opener = from || document.activeElement;
      draw();
      if (!el.open) el.showModal();
      boxes.values().next().value?.focus();
    },
  };
}
