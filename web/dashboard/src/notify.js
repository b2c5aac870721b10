// notify.js — owns getting the agent's attention while the dashboard tab is hidden: a count of
// conversations needing attention in the title, a flashing title when a conversation is handed
// to a human ("● Ada needs a human"), and the shared chime (lower and longer than the widget's).
// The flashing stops when the tab becomes visible again.

import { createAttention } from '../../shared/notify.js';

const BASE_TITLE = 'Parley inbox';
const FLASH_MS = 1000;

export function createNotifier({ sound = true } = {}) {
  let count = 0;
  let flashText = null;
  let flashTimer = null;
  let flashOn = false;

  function title() {
    const base = (count ? '(' + count + ') ' : '') + BASE_TITLE;
    document.title = flashText && flashOn ? flashText : base;
  }

  function stopFlash() {
    clearInterval(flashTimer);
    flashTimer = null;
    flashText = null;
    flashOn = false;
    title();
  }

  const listening = new AbortController();
  const chime = createAttention({ sound, tone: [660, 990, 0.12, 0.2, 0.4], onVisible: stopFlash, signal: listening.signal });

  return {
    /** How many conversations want the agent (shown in the title). */
    setCount(n) {
      count = Math.max(0, n | 0);
      title();
    },
    /** Something new while the agent is not looking: a chime, and a flashing title if given. */
    alert(text) {
      if (!document.hidden) return false;
      chime();
      if (text) {
        flashText = '● ' + text;
        flashOn = true;
        title();
        clearInterval(flashTimer);
        flashTimer = setInterval(() => {
          flashOn = !flashOn;
          title();
        }, FLASH_MS);
      }
      return true;
    },
    get flashing() {
      return !!flashText;
    },
    stopFlash,
    /** Signed out: no more title changes, no more listeners. */
    stop() {
      stopFlash();
      listening.abort();
    },
  };
}
