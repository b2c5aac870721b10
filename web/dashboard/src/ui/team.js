// ui/team.js — owns the team list in the side bar: every agent with a dot and a word for their
// state (online = available and heard from lately; away; offline), the signed-in agent marked
// "(you)", online agents first, and how many are online.

import { h } from '../../../shared/ui/dom.js';

export function agentState(a) {
  if (a?.online) return 'online';
  if (a?.availability === 'away') return 'away';
  return 'offline';
}

const WORD = { online: 'Online', away: 'Away', offline: 'Offline' };
const RANK = { online: 0, away: 1, offline: 2 };

export function createTeam() {
  const count = h('span', { class: 'count' });
  const list = h('ul', { class: 'team-list', 'aria-labelledby': 'pd-team-title' });
  const el = h('section', { class: 'team', 'aria-labelledby': 'pd-team-title' }, h('h2', { id: 'pd-team-title' }, 'Team ', count), list);

  return {
    el,
    render(team, selfId) {
      const agents = [...(team || [])].sort((a, b) => RANK[agentState(a)] - RANK[agentState(b)] || String(a.name).localeCompare(String(b.name)));
      const online = agents.filter((a) => agentState(a) === 'online').length;
      count.textContent = '· ' + online + ' online';
      list.replaceChildren(
        ...agents.map((a) => {
          const state = agentState(a);
          return h(
            'li',
            { class: 'agent ' + state, 'data-agent-id': a.id },
            h('span', { class: 'dot', 'aria-hidden': 'true' }),
            h('span', { class: 'name', text: (a.name || 'Agent #' + a.id) + (a.id === selfId ? ' (you)' : '') }),
            h('span', { class: 'state', text: WORD[state] }),
          );
        }),
      );
    },
  };
}
