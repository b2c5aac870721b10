// ui/header.js — owns the top bar: the product name, the agent's name, the availability switch
// (Online / Away / Offline, a radio group, so arrow keys move between them), the connection
// state (live, connecting, polling), "Reports" (how the team, or the agent, is doing),
// "Notifications" (what gets the agent's attention),
// "Sessions" (signed in with a password only: where else this person is signed in), "Admin"
// (admins only: the team, widgets, knowledge and audit log) and "Sign out".

import { h } from '../../../shared/ui/dom.js';
import { icon } from './icons.js';

const CHOICES = [
  ['online', 'Online'],
  ['away', 'Away'],
  ['offline', 'Offline'],
];

export function createHeader({ onAvailability, onSignOut, onSessions = null, onAdmin = null, onReports = null, onNotifications = null }) {
  const name = h('span', { class: 'agent-name' });
  const radios = new Map();
  const group = h('fieldset', { class: 'availability' }, h('legend', { class: 'sr', text: 'Availability' }));
  for (const [value, label] of CHOICES) {
    const input = h('input', { type: 'radio', name: 'pd-availability', value, id: 'pd-av-' + value });
    input.addEventListener('change', () => input.checked && onAvailability(value));
    radios.set(value, input);
    group.append(h('label', { for: 'pd-av-' + value, class: 'seg ' + value }, input, h('span', { class: 'dot', 'aria-hidden': 'true' }), h('span', { text: label })));
  }
  const connection = h('span', { class: 'connection', role: 'status' }, h('span', { class: 'dot', 'aria-hidden': 'true' }), h('span', { class: 'label', text: 'Connecting…' }));
  const signOut = h('button', { type: 'button', class: 'ghost signout', onclick: onSignOut }, icon('out'), h('span', { text: 'Sign out' }));
  const sessions = onSessions ? h('button', { type: 'button', class: 'ghost sessions', 'aria-haspopup': 'dialog' }, icon('devices'), h('span', { text: 'Sessions' })) : null;
  sessions?.addEventListener('click', () => onSessions(sessions));
  const reports = onReports ? h('button', { type: 'button', class: 'ghost reports', 'aria-haspopup': 'dialog' }, icon('chart'), h('span', { text: 'Reports' })) : null;
  reports?.addEventListener('click', () => onReports(reports));
  const notifications = onNotifications ? h('button', { type: 'button', class: 'ghost notifications', 'aria-haspopup': 'dialog' }, icon('bell'), h('span', { text: 'Notifications' })) : null;
  notifications?.addEventListener('click', () => onNotifications(notifications));
  const admin = onAdmin ? h('button', { type: 'button', class: 'ghost admin', 'aria-haspopup': 'dialog' }, icon('gear'), h('span', { text: 'Admin' })) : null;
  admin?.addEventListener('click', () => onAdmin(admin));
  // On a phone the actions fold into a Menu (a disclosure), each with its words, so the bar fits
  // one line; wider screens show them in the bar.
  const actions = h('div', { class: 'top-actions', id: 'pd-top-actions' }, reports, notifications, admin, sessions, signOut);
  const menu = h('button', { type: 'button', class: 'ghost menu-toggle', 'aria-expanded': 'false', 'aria-controls': 'pd-top-actions' }, h('span', { text: 'Menu' }));
  const setMenu = (open) => {
    menu.setAttribute('aria-expanded', String(open));
    actions.classList.toggle('open', open);
  };
  menu.addEventListener('click', () => setMenu(menu.getAttribute('aria-expanded') !== 'true'));
  actions.addEventListener('click', (e) => e.target.closest('button') && setMenu(false));
  const el = h(
    'header',
    { class: 'top' },
    h('div', { class: 'brand' }, icon('inbox'), h('span', { text: 'Parley' })),
    h('div', { class: 'spacer' }),
    connection,
    group,
    h('div', { class: 'me' }, icon('user'), name),
    menu,
    actions,
  );
  el.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && actions.classList.contains('open')) {
      setMenu(false);
      menu.focus();
    }
  });
  document.addEventListener('click', (e) => actions.classList.contains('open') && !el.contains(e.target) && setMenu(false));

  return {
    el,
    setAgent(agent) {
      name.textContent = agent?.name || '';
      name.title = agent?.email || '';
      const radio = radios.get(agent?.availability);
      if (radio && !radio.checked) radio.checked = true;
      el.dataset.availability = agent?.availability || '';
    },
    /** state: 'live' | 'connecting' | 'polling' | 'offline' */
    setConnection(state, detail) {
      connection.dataset.state = state;
      const text = { live: 'Live', connecting: 'Connecting…', polling: 'Polling', offline: 'Offline' }[state] || state;
      connection.querySelector('.label').textContent = text;
      connection.title = detail || '';
    },
  };
}
