// admin/admin.js — owns the Admin area (admins only; the header's "Admin" button opens it): a
// full-page modal dialog with tabs, Team, Widgets, Knowledge, Labels, Privacy, Webhooks and Audit log (a tablist, so
// the arrow keys move between tabs), each panel loaded when shown. Escape or "Close" go back to
// the inbox, and the focus returns to the header's button.

import { h } from '../../../shared/ui/dom.js';
import { createAdminApi } from './api.js';
import { createAuditPanel } from './audit.js';
import { createKnowledgePanel } from './knowledge.js';
import { createLabelsPanel } from './labels.js';
import { createPrivacyPanel } from './privacy.js';
import { ensureAdminStyles } from './style.js';
import { createTeamPanel } from './team.js';
import { createWebhooksPanel } from './webhooks.js';
import { createWidgetList, createWidgetsPanel } from './widgets.js';

export const isAdmin = (agent) => agent?.role === 'admin';

export function createAdmin({ api }) {
  ensureAdminStyles();
  const admin = createAdminApi(api);
  const widgets = createWidgetList(admin);
  let people = [];
  const team = createTeamPanel({ admin: Object.assign({}, admin, { users: () => admin.users().then((res) => ((people = res?.users || []), res)) }), widgets });
  const panels = [
    ['team', 'Team', team],
    ['widgets', 'Widgets', createWidgetsPanel({ admin, widgets })],
    ['knowledge', 'Knowledge', createKnowledgePanel({ admin, widgets })],
    ['labels', 'Labels', createLabelsPanel({ admin })],
    ['privacy', 'Privacy', createPrivacyPanel({ admin, widgets })],
    ['webhooks', 'Webhooks', createWebhooksPanel({ admin, widgets })],
    ['audit', 'Audit log', createAuditPanel({ admin, people: () => people })],
  ];
  const tabs = h('div', { class: 'adm-tabs', role: 'tablist', 'aria-label': 'Administration' });
  const close = h('button', { type: 'button', class: 'ghost', text: 'Close', 'aria-label': 'Close the admin area' });
  const el = h(
    'dialog',
    { class: 'admin-dialog', 'aria-labelledby': 'pd-adm-title' },
    h('div', { class: 'adm-top' }, h('h1', { id: 'pd-adm-title', text: 'Admin' }), tabs, close),
  );
  let current = null;
  let opener = null;

  const buttons = panels.map(([id, label, panel], i) => {
    const tab = h('button', { type: 'button', role: 'tab', id: 'pd-adm-tab-' + id, 'aria-controls': 'pd-adm-panel-' + id, 'aria-selected': 'false', tabindex: '-1', text: label });
    const wrap = h('div', { role: 'tabpanel', id: 'pd-adm-panel-' + id, 'aria-labelledby': tab.id, class: 'adm-body', hidden: true }, panel.el);
    el.append(wrap);
    tab.addEventListener('click', () => select(id));
    tab.addEventListener('keydown', (e) => {
      const step = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 }[e.key];
      let next = null;
      if (step) next = (i + step + panels.length) % panels.length;
      else if (e.key === 'Home') next = 0;
      else if (e.key === 'End') next = panels.length - 1;
      if (next == null) return;
      e.preventDefault();
      select(panels[next][0]);
      buttons[next].tab.focus();
    });
    tabs.append(tab);
    return { id, tab, wrap, panel };
  });

  /** Shows tab `id`; a tab shown anew (or the area opened again) starts at its top. */
  function select(id, fresh = current !== id) {
    for (const b of buttons) {
      const on = b.id === id;
      b.tab.setAttribute('aria-selected', String(on));
      b.tab.tabIndex = on ? 0 : -1;
      const was = b.wrap.hidden;
      b.wrap.hidden = !on;
      if (on && (was || fresh)) b.wrap.scrollTop = 0;
    }
    current = id;
    const shown = buttons.find((b) => b.id === id);
    return shown?.panel.load().then(() => {
      if (current === id && fresh) shown.wrap.scrollTop = 0;
    });
  }

  close.addEventListener('click', () => el.close());
  el.addEventListener('close', () => opener?.focus());

  return {
    el,
    get isOpen() {
      return el.open;
    },
    /** Opens the area (on `tab`, else where it was); `from` gets the focus back when it closes. */
    open(from, tab) {
      opener = from || document.activeElement;
      const opening = !el.open;
      if (opening) el.showModal();
      const shown = select(tab || current || 'team', opening || undefined);
      buttons.find((b) => b.id === current)?.tab.focus();
      return shown;
    },
    select,
    stop() {
      for (const b of buttons) b.panel.stop?.();
      if (el.open) el.close();
    },
  };
}
