// notify.js — owns what the widget and the dashboard share in getting attention while their tab
// is hidden: a short chime, made with Web Audio so there is no sound file to fetch, that only
// plays after the person has interacted with the page (browsers block audio before that anyway),
// and noticing the tab become visible again (when each undoes its title).

/**
 * Returns chime(), which plays `tone`.
 * @param {object} o
 * @param {boolean} [o.sound] false: never chime
 * @param {number[]} o.tone [first Hz, second Hz, when the second starts (s), peak gain, length (s)]
 * @param {() => void} o.onVisible the tab is visible again
 * @param {AbortSignal} [o.signal] aborted: no more listeners, no more sound
 */
export function createAttention({ sound = true, tone: [first, second, step, peak, length], onVisible, signal }) {
  let audio = null;
  let interacted = false;

  const mark = () => {
    interacted = true;
  };
  const once = { once: true, capture: true, signal };
  window.addEventListener('pointerdown', mark, once);
  window.addEventListener('keydown', mark, once);
  document.addEventListener('visibilitychange', () => document.hidden || onVisible(), { signal });
  signal?.addEventListener('abort', () => audio?.close?.().catch(() => {}));

  return function chime() {
    if (!sound || !interacted) return;
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      const now = audio.currentTime;
      osc.frequency.setValueAtTime(first, now);
      osc.frequency.setValueAtTime(second, now + step);
      gain.gain.setValueAtTime(0.0001, now);
      gain.gain.exponentialRampToValueAtTime(peak, now + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, now + length);
      osc.connect(gain).connect(audio.destination);
      osc.start(now);
      osc.stop(now + length + 0.02);
    } catch {
      /* no audio output: the title still tells */
    }
  };
}
