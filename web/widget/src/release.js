// release.js — the end of a press anywhere in the page, for the loader and the full widget's
// takeover, which both follow a press that began on the loader's launcher.

/** Calls `done(event)` once, at the next pointerup or pointercancel in the page (capture phase). */
export function onceReleased(done) {
  const end = (event) => {
    window.removeEventListener('pointerup', end, true);
    window.removeEventListener('pointercancel', end, true);
    done(event);
  };
  window.addEventListener('pointerup', end, true);
  window.addEventListener('pointercancel', end, true);
}
