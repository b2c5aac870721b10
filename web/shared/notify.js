// notify.js — owns getting the visitor's attention while the tab is hidden: an unread count in
// the page title (restored when the tab is visible again) and a short chime. The chime is made
// with Web Audio so there is no sound file to fetch, and only plays after the visitor has
// interacted with the page (browsers block audio before that anyway).

export function createNotifier({ t, sound = true }) {
  let baseTitle = null;
  let ourTitle = null;
  let audio = null;
  let interacted = false;

  const mark = () => {
    interacted = true;
  };
  window.addEventListener('pointerdown', mark, { once: true, capture: true });
  window.addEventListener('keydown', mark, { once: true, capture: true });

  function chime() {
    if (!sound || !interacted) return;
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      const now = audio.currentTime;
      osc.frequency.setValueAtTime(880, now);
      osc.frequency.setValueAtTime(1175, now + 0.09);
      gain.gain.setValueAtTime(0.0001, now);
      gain.gain.exponentialRampToValueAtTime(0.15, now + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, now + 0.3);
      osc.connect(gain).connect(audio.destination);
      osc.start(now);
      osc.stop(now + 0.32);
    } catch {
      /* no audio output: the title still tells */
    }
  }

  function restore() {
    // Only undo our own change: the host page may have set a new title meanwhile.
    if (baseTitle != null && document.title === ourTitle) document.title = baseTitle;
    baseTitle = ourTitle = null;
  }

  document.addEventListener('visibilitychange', () => {
    if (!document.hidden) restore();
  });

  return {
    /** New messages from the other side arrived while the visitor was not looking. */
    alert(unread) {
      if (!document.hidden) return;
      if (baseTitle == null || document.title !== ourTitle) baseTitle = document.title;
      ourTitle = t('titleNewMessage', { count: unread }) + ' · ' + baseTitle;
      document.title = ourTitle;
      chime();
    },
    restore,
  };
}
