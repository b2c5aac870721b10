// ui/inbox.js — owns the inbox column: the tabs (Waiting, Mine, Bot, Closed; a WAI-ARIA tab list,
// arrow keys move between tabs) with their counts, and the list of conversations of the chosen
// tab. Each row is a button: visitor name (or "Visitor #id"), a preview of the newest message
// that is not a system line (so rows after a handoff do not all read "Let me get a human…"; a
// bot's Markdown as plain words), relative time, an unread dot, a "needs an agent" mark and a
// "waiting for email" one (the visitor asked for a person while the team was away: the next
// reply is emailed), the page the visitor is on, and in search results why the conversation
// was found (the message, name, email, pre-chat answer or label, the text marked). Rows are
// keyed by conversation id and reused, so live updates never steal focus from the row the agent
// is on. Above the tabs, a search field: while it holds text the list shows what the search
// found, whatever the tab.

import { h, httpUrl, relativeTime, formatTime } from '../../../shared/ui/dom.js';
import { markdownText } from '../../../shared/ui/markdown.js';
import { TABS } from '../inbox.js';
import { labelChips } from './labels.js';

/** What the widget's "Talk to a person" button sends. */
const TALK_TO_PERSON = '/human';

export function visitorName(c) {
  return (c && c.visitor_name) || 'Visitor #' + (c?.id ?? '?');
}

/** A bot's Markdown as plain words, worked out once per message. */
const plainWords = new WeakMap();
function words(m) {
  if (m.sender_type !== 'bot') return m.message;
  if (!plainWords.has(m)) plainWords.set(m, markdownText(m.message));
  return plainWords.get(m);
}

export function preview(m, selfName) {
  if (!m) return 'No messages yet';
  let text = m.message ? words(m) : m.is_voice ? 'Voice note' : m.attachment_name ? '📎 ' + m.attachment_name : '';
  text = text.replace(/\s+/g, ' ').trim();
  if (m.sender_type === 'visitor' && text.toLowerCase() === TALK_TO_PERSON) return 'Asked for a person';
  let who = '';
  if (m.sender_type === 'agent') who = (m.sender_name && m.sender_name === selfName ? 'You' : m.sender_name || 'Agent') + ': ';
  else if (m.sender_type === 'bot') who = 'Bot: ';
  return who + text;
}

/** "shop.example/packs/x" for a page's address (http(s) only), else null. */
export function pageLabel(url) {
  const href = httpUrl(url);
  if (!href) return null;
  const u = new URL(href);
  return u.host + (u.pathname === '/' ? '' : u.pathname.replace(/\/$/, ''));
}

const title = (key) => {
  const words = key.replace(/_/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
};

/**
 * Why a search found conversation `c`: {field, text} for the message that matched (the
 * server's `matched_message`), else the name, email, a pre-chat answer or a label holding `q`.
 */
export function matchReason(c, q, matched, tags) {
  const needle = q.toLowerCase();
  const has = (v) => typeof v === 'string' && v.toLowerCase().includes(needle);
  if (matched) return { field: 'Message', text: preview(matched) };
  if (has(c.visitor_name)) return { field: 'Name', text: c.visitor_name };
  if (has(c.visitor_email)) return { field: 'Email', text: c.visitor_email };
  for (const [key, value] of Object.entries(c.attributes || {})) if (has(String(value)) || has(key)) return { field: title(key), text: String(value) };
  const label = tags.find((l) => has(l.name));
  if (label) return { field: 'Label', text: label.name };
  return null;
}

/** `text` cut around the first `q` (ignoring case), with it marked: nodes and strings. */
function marked(text, q) {
  const flat = text.replace(/\s+/g, ' ').trim();
  const lower = flat.toLowerCase();
  // Only where lower-casing kept every position (so the mark covers what matched).
  const at = lower.length === flat.length ? lower.indexOf(q.toLowerCase()) : -1;
  if (at < 0) return [flat.length > 90 ? flat.slice(0, 90) + '…' : flat];
  let start = Math.max(0, at - 24);
  // From a word's start.
  const space = start > 0 ? flat.indexOf(' ', start) : -1;
  if (space >= 0 && space < at) start = space + 1;
  const end = Math.min(flat.length, at + q.length + 60);
  return [(start > 0 ? '…' : '') + flat.slice(start, at), h('mark', { text: flat.slice(at, at + q.length) }), flat.slice(at + q.length, end) + (end < flat.length ? '…' : '')];
}

const EMPTY = {
  waiting: 'Nobody is waiting for an agent.',
  mine: 'No conversations are assigned to you.',
  bot: 'The bot is not talking to anyone.',
  closed: 'No closed conversations.',
};

export function createInboxView({ onTab, onOpen, onMore, onSearch, onLabel = () => {} }) {
  const searchInput = h('input', {
    type: 'search',
    id: 'pd-search',
    placeholder: 'Search name, email or messages',
    'aria-label': 'Search conversations',
    autocomplete: 'off',
    maxlength: 200,
  });
  searchInput.addEventListener('input', () => onSearch(searchInput.value));
  searchInput.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && searchInput.value) {
      searchInput.value = '';
      onSearch('');
    }
  });
  // Only the conversations carrying one label (with the search text, if any).
  const labelFilter = h('select', { id: 'pd-label-filter', 'aria-label': 'Filter by label', hidden: true }, h('option', { value: '', text: 'All labels' }));
  labelFilter.addEventListener('change', () => onLabel(labelFilter.value ? Number(labelFilter.value) : null));
  const searchBox = h('div', { class: 'search', role: 'search' }, searchInput, labelFilter);
  const tabButtons = new Map();
  const tablist = h('div', { class: 'tabs', role: 'tablist', 'aria-label': 'Inbox' });
  for (const tab of TABS) {
    const badge = h('span', { class: 'badge', 'aria-hidden': 'true' });
    const button = h('button', {
      type: 'button',
      role: 'tab',
      id: 'pd-tab-' + tab.id,
      'data-tab': tab.id,
      'aria-controls': 'pd-tabpanel',
      'aria-selected': 'false',
      tabindex: -1,
    }, h('span', { class: 'label', text: tab.label }), ' ', badge);
    button._badge = badge;
    button._label = tab.label;
    button.addEventListener('click', () => onTab(tab.id));
    tabButtons.set(tab.id, button);
    tablist.append(button);
  }
  tablist.addEventListener('keydown', (e) => {
    const ids = TABS.map((t) => t.id);
    const at = ids.indexOf(document.activeElement?.dataset?.tab);
    if (at < 0) return;
    let next = null;
    if (e.key === 'ArrowRight') next = ids[(at + 1) % ids.length];
    else if (e.key === 'ArrowLeft') next = ids[(at - 1 + ids.length) % ids.length];
    else if (e.key === 'Home') next = ids[0];
    else if (e.key === 'End') next = ids[ids.length - 1];
    if (!next) return;
    e.preventDefault();
    onTab(next);
    tabButtons.get(next).focus();
  });

  const list = h('ul', { class: 'convs' });
  const empty = h('p', { class: 'empty', hidden: true });
  const more = h('button', { type: 'button', class: 'ghost more', hidden: true, text: 'Load older conversations' });
  const panel = h('div', { id: 'pd-tabpanel', class: 'tabpanel', role: 'tabpanel', tabindex: -1 }, list, empty, more);
  // A heading screen-reader users can jump to, at every width (the team's is hidden on a phone).
  const heading = h('h2', { id: 'pd-inbox-title', class: 'sr', text: 'Conversations' });
  const el = h('nav', { class: 'inbox', 'aria-labelledby': 'pd-inbox-title' }, heading, searchBox, tablist, panel);
  let currentTab = null;
  more.addEventListener('click', () => onMore(currentTab));

  const rows = new Map();

  function row(c) {
    let li = rows.get(c.id);
    if (!li) {
      const button = h('button', { type: 'button', class: 'conv', 'data-id': c.id });
      button.addEventListener('click', () => onOpen(c.id));
      li = h('li', null, button);
      li._button = button;
      rows.set(c.id, li);
    }
    return li;
  }

  function fill(li, c, ctx) {
    const button = li._button;
    const unread = ctx.unread(c);
    const handoff = ctx.handoff(c.id);
    const when = c.last_message?.timestamp || c.updated_at;
    const name = visitorName(c);
    // Not the handoff notice every handed-over conversation ends with: what was last said.
    const text = preview(c.preview_message || c.last_message, ctx.selfName);
    const verified = !!c.user_id;
    const byEmail = !!c.waiting_for_email_at && c.status !== 'closed';
    // In the labels' own order (by name), whatever order they were put on.
    const tags = (ctx.labels || []).filter((l) => (c.labels || []).includes(l.id));
    const query = ctx.tab === 'search' ? (ctx.query || '').trim() : '';
    const why = query ? matchReason(c, query, ctx.matched?.(c), tags) : null;
    const page = pageLabel(c.page_url);
    const sig = [name, verified, text, relativeTime(when), unread, handoff, c.id === ctx.openId, c.assigned_agent_id, c.status, JSON.stringify(tags), byEmail, query, JSON.stringify(why), page].join('\u0000');
    if (button._sig === sig) return;
    button._sig = sig;
    button.classList.toggle('unread', unread);
    button.classList.toggle('open', c.id === ctx.openId);
    if (c.id === ctx.openId) button.setAttribute('aria-current', 'true');
    else button.removeAttribute('aria-current');
    const label = [
      name,
      verified ? 'verified user' : null,
      tags.length ? 'labels: ' + tags.map((l) => l.name).join(', ') : null,
      unread ? 'unread' : null,
      handoff ? 'needs an agent' : null,
      byEmail ? 'waiting for email' : null,
      text,
      why ? 'found in ' + why.field.toLowerCase() + ': ' + why.text.replace(/\s+/g, ' ').slice(0, 120) : null,
      page ? 'on ' + page : null,
      formatTime(when).long,
    ].filter(Boolean).join(', ');
    // The row's name is the sentence above (for screen readers); what the eye sees is its own
    // arrangement of the same facts, hidden from them (a name given as aria-label would have to
    // contain the visible words in their order, as axe's label-content-name-mismatch wants).
    button.removeAttribute('aria-label');
    button.replaceChildren(
      h('span', { class: 'sr conv-label', text: label }),
      h('span', { class: 'avatar', 'aria-hidden': 'true', text: name.trim().charAt(0).toUpperCase() || '?' }),
      h(
        'span',
        { class: 'body', 'aria-hidden': 'true' },
        h('span', { class: 'line' }, h('span', { class: 'name' }, name, verified ? h('span', { class: 'proof verified', title: 'Verified user', text: '✓' }) : null), h('time', { datetime: when || '', title: formatTime(when).long, text: relativeTime(when) })),
        h('span', { class: 'line' }, h('span', { class: 'preview', dir: 'auto', text }), handoff ? h('span', { class: 'tag', text: 'needs an agent' }) : null, byEmail ? h('span', { class: 'tag email-wait', title: 'Your next reply is emailed to the visitor at once', text: 'waiting for email' }) : null, unread ? h('span', { class: 'unread-dot', title: 'Unread' }) : null),
        why ? h('span', { class: 'line why' }, h('span', { class: 'why-field', text: why.field + ':' }), h('span', { class: 'why-text' }, ...marked(why.text, query))) : null,
        page ? h('span', { class: 'line page', title: c.page_url }, h('span', { class: 'page-text', text: page })) : null,
        tags.length ? h('span', { class: 'line label-chips', 'aria-hidden': 'true' }, ...labelChips(tags)) : null,
      ),
    );
  }

  return {
    el,
    /** ctx: {tab, rows, counts, openId, hasMore, loading, unread(c), handoff(id), selfName} */
    render(ctx) {
      currentTab = ctx.tab;
      const labels = ctx.labels || [];
      const labelSig = JSON.stringify(labels);
      if (labelFilter._sig !== labelSig) {
        labelFilter._sig = labelSig;
        const value = labelFilter.value;
        labelFilter.replaceChildren(h('option', { value: '', text: 'All labels' }), ...labels.map((l) => h('option', { value: String(l.id), text: l.name })));
        labelFilter.value = labels.some((l) => String(l.id) === value) ? value : '';
        labelFilter.hidden = labels.length === 0;
      }
      const searching = ctx.tab === 'search';
      tablist.hidden = searching;
      for (const [id, button] of tabButtons) {
        const selected = id === ctx.tab;
        button.setAttribute('aria-selected', String(selected));
        button.tabIndex = selected ? 0 : -1;
        const c = ctx.counts[id] || { total: 0, unread: 0 };
        const shown = id === 'waiting' || id === 'mine' ? c.total : c.unread;
        button._badge.textContent = shown ? String(shown) : '';
        button._badge.hidden = !shown;
        button.classList.toggle('has-unread', c.unread > 0);
        // Its visible words first ("Mine 2"), then what the number means.
        button.setAttribute('aria-label', button._label + (shown ? ' ' + shown + (id === 'waiting' || id === 'mine' ? '' : ' unread') : ''));
      }
      if (searching) {
        panel.removeAttribute('aria-labelledby');
        panel.setAttribute('aria-label', 'Search results');
      } else {
        panel.removeAttribute('aria-label');
        panel.setAttribute('aria-labelledby', 'pd-tab-' + ctx.tab);
      }
      const seen = new Set();
      let prev = null;
      for (const c of ctx.rows) {
        seen.add(c.id);
        const li = row(c);
        fill(li, c, ctx);
        const want = prev ? prev.nextSibling : list.firstChild;
        if (want !== li) list.insertBefore(li, want);
        prev = li;
      }
      for (const [id, li] of rows) {
        if (!seen.has(id)) {
          li.remove();
          rows.delete(id);
        }
      }
      empty.hidden = ctx.rows.length > 0 || ctx.loading;
      empty.textContent = searching ? (ctx.query ? 'No conversations match “' + ctx.query + '”.' : 'No conversations carry this label.') : EMPTY[ctx.tab] || '';
      more.hidden = !ctx.hasMore;
    },
  };
}
