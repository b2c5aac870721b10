// admin/team.js — owns the Admin area's "Team" panel: everyone (name, email, role, online,
// disabled, whether they have set a password, the widgets they answer), an invitation form that
// then shows the whole invitation link to copy, and per person: the role, the widgets they answer
// (none ticked: every widget), a password reset link to copy, and disabling (after a confirm).
// The server's refusals (the last admin, a taken email) are shown as it words them.

import { h } from '../../../shared/ui/dom.js';
import { busyButton, copyBox, errorLine, field, reason, replaceItems, statusLine, uid } from './kit.js';

export function createTeamPanel({ admin, widgets, confirm = (text) => window.confirm(text) }) {
  const error = errorLine();
  const status = statusLine();
  const list = h('ul', { class: 'adm-list', 'aria-label': 'People' });

  // ---- the invitation form ----
  const email = h('input', { type: 'email', autocomplete: 'off', required: true, spellcheck: 'false', autocapitalize: 'off' });
  const name = h('input', { type: 'text', autocomplete: 'off', maxlength: 100 });
  const role = h('select', {}, h('option', { value: 'agent', text: 'Agent' }), h('option', { value: 'admin', text: 'Admin' }));
  const inviteError = errorLine();
  const inviteResult = h('div', { class: 'adm-result' });
  const form = h(
    'form',
    { class: 'adm-form', 'aria-label': 'Invite someone', novalidate: true },
    h('h3', { text: 'Invite someone' }),
    h('div', { class: 'adm-grid' }, field('Email', email), field('Name (optional)', name), field('Role', role)),
    inviteError.el,
    h('div', { class: 'adm-row' }, h('button', { type: 'submit', class: 'primary', text: 'Invite' })),
    inviteResult,
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    inviteError.set('');
    const address = email.value.trim();
    if (!/^[^\s@]+@[^\s@]+$/.test(address)) {
      inviteError.set('Enter an email address, such as someone@example.com.');
      return email.focus();
    }
    try {
      const res = await admin.invite({ email: address, name: name.value.trim(), role: role.value });
      const who = res.user?.name || res.user?.email || address;
      inviteResult.replaceChildren(
        h('p', { text: 'Send this link to ' + who + '. It works once, for 7 days.' }),
        copyBox('Invitation link', location.origin + res.invite_path, { name: 'invitation link' }),
      );
      email.value = '';
      name.value = '';
      role.value = 'agent';
      inviteResult.querySelector('.adm-copy-value')?.focus();
      await load();
    } catch (err) {
      inviteError.set('Could not invite: ' + reason(err));
    }
  });

  const el = h('section', { class: 'adm-panel', 'aria-labelledby': 'pd-adm-team-title' }, h('h2', { id: 'pd-adm-team-title', text: 'Team' }), status.el, error.el, list, form);

  function person(u) {
    const disabled = !!u.disabled_at;
    const answers = Array.isArray(u.widget_ids) ? u.widget_ids : [];
    const all = widgets.list().filter((w) => !w.revoked_at);
    const names = answers.length ? answers.map((id) => all.find((w) => w.id === id)?.name || '#' + id).join(', ') : 'All widgets';
    const tags = [
      h('span', { class: 'tag role', text: u.role === 'admin' ? 'Admin' : 'Agent' }),
      disabled ? h('span', { class: 'tag', text: 'Disabled' }) : h('span', { class: 'tag ' + (u.online ? 'on' : 'off'), text: u.online ? 'Online' : 'Offline' }),
      u.has_password ? null : h('span', { class: 'tag off', text: 'No password yet' }),
    ];
    const rowError = errorLine();
    const result = h('div', { class: 'adm-result' });
    const item = h(
      'li',
      { class: 'adm-item' + (disabled ? ' disabled' : ''), 'data-user-id': u.id },
      h('div', { class: 'adm-head' }, h('b', { text: u.name || u.email }), ...tags),
      h('p', { class: 'muted adm-sub', text: u.email }),
      h('p', { class: 'adm-sub', text: 'Answers: ' + (u.role === 'admin' ? 'All widgets (admins see every widget)' : names) }),
    );
    if (disabled) return item;
    const who = u.name || u.email;

    const roleSelect = h('select', {}, h('option', { value: 'agent', text: 'Agent' }), h('option', { value: 'admin', text: 'Admin' }));
    roleSelect.value = u.role;
    roleSelect.addEventListener('change', async () => {
      rowError.set('');
      try {
        await admin.updateUser(u.id, { role: roleSelect.value });
        status.set(who + ' is now ' + (roleSelect.value === 'admin' ? 'an admin.' : 'an agent.'));
        await load();
      } catch (err) {
        roleSelect.value = u.role;
        rowError.set('Could not change the role: ' + reason(err));
      }
    });

    const boxes = all.map((w) => {
      const box = h('input', { type: 'checkbox', id: uid('w'), value: w.id });
      box.checked = answers.includes(w.id);
      return h('label', { class: 'adm-check', for: box.id }, box, h('span', { text: w.name }));
    });
    const saveWidgets = busyButton({ class: 'ghost', text: 'Save widgets', 'aria-label': 'Save the widgets ' + who + ' answers' }, async () => {
      rowError.set('');
      const ids = [...item.querySelectorAll('.adm-widgets input:checked')].map((b) => Number(b.value));
      try {
        await admin.setUserWidgets(u.id, ids);
        status.set(who + (ids.length ? ' answers ' + ids.length + ' widget' + (ids.length > 1 ? 's.' : '.') : ' answers every widget.'));
        await load();
      } catch (err) {
        rowError.set('Could not save the widgets: ' + reason(err));
      }
    });
    const widgetsBox = u.role === 'admin' || !all.length
      ? null
      : h('fieldset', { class: 'adm-widgets' }, h('legend', { text: 'Widgets ' + who + ' answers (none ticked: all)' }), ...boxes, saveWidgets);

    const reset = busyButton({ class: 'ghost', text: 'Reset link', 'aria-label': 'Password reset link for ' + who }, async () => {
      rowError.set('');
      try {
        const res = await admin.resetLink(u.id);
        result.replaceChildren(h('p', { text: 'Send this link to ' + who + '. It works once, for 24 hours.' }), copyBox('Reset link for ' + who, location.origin + res.reset_path, { name: 'reset link' }));
        result.querySelector('.adm-copy-value')?.focus();
      } catch (err) {
        rowError.set('Could not make a reset link: ' + reason(err));
      }
    });
    const disable = busyButton({ class: 'ghost danger', text: 'Disable', 'aria-label': 'Disable ' + who }, async () => {
      rowError.set('');
      if (!confirm('Disable ' + who + '? They are signed out at once and can no longer sign in.')) return;
      try {
        await admin.disable(u.id);
        status.set(who + ' is disabled.');
        await load();
      } catch (err) {
        rowError.set('Could not disable: ' + reason(err));
      }
    });
    item.append(...[h('div', { class: 'adm-row' }, field('Role of ' + who, roleSelect), reset, disable), widgetsBox, rowError.el, result].filter(Boolean));
    return item;
  }

  async function load() {
    error.set('');
    try {
      if (!widgets.loaded()) await widgets.refresh().catch(() => {});
      const res = await admin.users();
      const users = Array.isArray(res?.users) ? res.users : [];
      replaceItems(list, users.map(person));
    } catch (err) {
      error.set('Could not load the team: ' + reason(err));
    }
  }

  return { el, load };
}
