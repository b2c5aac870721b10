// navigation.js — owns which conversation is open and which inbox tab shows. The address says
// which conversation (`#/c/{id}`), so a link, a reload and Back open it; opening one follows its
// channel, polls it while that is not live, and catches it up. A conversation opened from its
// address (not from the list) brings its tab into view once its status is known. The tab is
// remembered in storage.

import { TABS } from './inbox.js';

/**
 * @param {object} o
 * @param {() => object} o.realtime the socket (follow, isLive)
 * @param {() => object|null} o.self this agent
 * @param {(t: object) => object} o.conversationOf what is known of a thread's conversation
 * @param {() => void} o.renderInbox draws the inbox again
 * @param {(o?: {forceScroll?: boolean}) => void} o.renderThread draws the open conversation again
 */
export function createNavigation({ storage, inbox, threads, sync, typing, layout, realtime, self, conversationOf, renderInbox, renderThread }) {
  let current = null; // the open thread
  let tab = TABS.some((t) => t.id === storage.tab()) ? storage.tab() : 'waiting';

  function open(id) {
    if (current?.state.id === id) return;
    typing.leave();
    current = id == null ? null : threads.thread(id);
    layout.threadView.show(id);
    realtime().follow(id);
    sync.setPolling(id != null && !realtime().isLive('conversation'));
    renderInbox();
    if (!current) return renderThread();
    const known = inbox.get(id);
    if (known && !current.state.conversation) current.setConversation(known);
    current._shown = false;
    renderThread({ forceScroll: true });
    sync.fill('open');
  }

  /** Opens what the address says (a link, a reload, Back); the inbox shows that one's tab. */
  function route({ fromList = false } = {}) {
    const m = /^#\/c\/(\d+)$/.exec(location.hash);
    const id = m ? Number(m[1]) : null;
    open(id);
    if (current) current._showTab = !fromList;
    if (id != null) layout.threadView.composer.focus();
  }

  function selectTab(id) {
    if (tab === id) return;
    tab = id;
    storage.setTab(id);
    renderInbox();
    inbox.refresh([id]);
  }

  return {
    route,
    selectTab,
    /** Opens conversation `id` (null: none) as a new history entry. */
    navigate(id) {
      const hash = id == null ? '' : '#/c/' + id;
      if (location.hash !== hash) history.pushState(null, '', hash || location.pathname + location.search);
      route({ fromList: true });
    },
    /** Once `t`'s status is known, shows the tab it belongs in, if it was opened by its address. */
    showTabOf(t) {
      if (!t._showTab) return;
      const c = conversationOf(t);
      if (!c.status) return;
      t._showTab = false;
      const home = TABS.find((x) => x.match(c, self()?.id));
      if (home && home.id !== tab) selectTab(home.id);
    },
    get current() {
      return current;
    },
    get tab() {
      return tab;
    },
  };
}
