// notify.js — owns getting the agent's attention while the dashboard tab is hidden: a count of
// conversations needing attention in the title, a flashing title when a conversation is handed
// to a human ("● Ada needs a human"), and a short chime. The chime is made with Web Audio (no
// sound file) and only plays after the agent has interacted with the page (browsers block audio
// before that anyway). Everything is undone when the tab becomes visible again.

const BASE_TITLE = 'Parley inbox';
const FLASH_MS = 1000;

export function createNotifier({ sound = true } = {}) {
  let count = 0;
  let flashText = null;
  let flashTimer = null;
  let flashOn = false;
  let audio = null;
  let interacted = false;

  const mark = () => {
    interacted = true;
  };
  window.addEventListener('pointerdown', mark, { capture: true });
  window.addEventListener('keydown', mark, { capture: true });

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

  function chime() {
    if (!sound || !interacted) return;
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      const now = audio.currentTime;
      osc.frequency.setValueAtTime(660, now);
      osc.frequency.setValueAtTime(990, now + 0.12);
      gain.gain.setValueAtTime(0.0001, now);
      gain.gain.exponentialRampToValueAtTime(0.2, now + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, now + 0.4);
      osc.connect(gain).connect(audio.destination);
      osc.start(now);
      osc.stop(now + 0.42);
    } catch {
      /* no audio output: the title still tells */
    }
  }

  const onVisibility = () => {
    if (!document.hidden) stopFlash();
  };
  document.addEventListener('visibilitychange', onVisibility);

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
      document.removeEventListener('visibilitychange', onVisibility);
      window.removeEventListener('pointerdown', mark, { capture: true });
      window.removeEventListener('keydown', mark, { capture: true });
      audio?.close?.().catch(() => {});
    },
  };
}
