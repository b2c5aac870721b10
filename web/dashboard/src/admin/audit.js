// admin/audit.js — owns the Admin area's "Audit log" panel: who did what, when and from where,
// newest first, fifty at a time ("Load more" asks for those before the last one shown).

import { h, formatTime } from '../../../shared/ui/dom.js';
import { errorLine, reason } from './kit.js';

export function createAuditPanel({ admin, people = () => [] }) {
  const error = errorLine();
  const list = h('ul', { class: 'adm-list adm-audit', 'aria-label': 'Audit entries' });
  const more = h('button', { type: 'button', class: 'ghost', text: 'Load more', hidden: true });
  let last = null;
  const el = h('section', { class: 'adm-panel', 'aria-labelledby': 'pd-adm-audit-title' }, h('h2', { id: 'pd-adm-audit-title', text: 'Audit log' }), error.el, list, more);

  function who(id) {
    if (id == null) return 'The command line';
    const p = people().find((u) => u.id === id);
    return p ? p.name || p.email : 'Person #' + id;
  }

  function entry(e) {
    const detail = e.detail == null ? '' : typeof e.detail === 'string' ? e.detail : JSON.stringify(e.detail);
    const when = formatTime(e.created_at).long;
    return h(
      'li',
      { class: 'adm-item', 'data-audit-id': e.id },
      h('div', { class: 'adm-head' }, h('b', { text: e.action }), e.target ? h('span', { text: String(e.target) }) : null),
      h('p', { class: 'muted adm-sub', text: [who(e.actor_id), when, e.ip ? 'from ' + e.ip : ''].filter(Boolean).join(' · ') }),
      detail ? h('p', { class: 'adm-sub adm-detail', text: detail }) : null,
    );
  }

  async function page(reset) {
    error.set('');
    try {
      const res = await admin.audit(reset ? null : last);
      const entries = Array.isArray(res?.entries) ? res.entries : [];
      if (reset) list.replaceChildren();
      list.append(...entries.map(entry));
      if (entries.length) last = entries[entries.length - 1].id;
      more.hidden = entries.length < 50;
      if (reset && !entries.length) list.append(h('li', { class: 'muted adm-none', text: 'Nothing yet.' }));
    } catch (err) {
      error.set('Could not load the audit log: ' + reason(err));
    }
  }
  more.addEventListener('click', () => page(false));

  return { el, load: () => page(true) };
}
