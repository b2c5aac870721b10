// catch-up.js — runs a "fetch everything I am missing" job the way both the widget and the
// agents' dashboard need it: concurrent requests share one run (plus one more if asked during
// it, so nothing that arrived meanwhile is missed), and the same job doubles as the poller while
// no socket is live, backing off while the server is unreachable and slowing in a hidden tab.
// Shared by both bundles; it imports nothing.

/**
 * @param {object} o
 * @param {(reason: string) => Promise<void>} o.fillOnce one catch-up pass; throws on failure
 * @param {(error: unknown) => void} o.onError told about each failed run
 * @param {number} o.intervalMs the polling interval
 * @param {number} [o.hiddenFactor] how much slower to poll in a hidden tab
 */
export function createCatchUp({ fillOnce, onError, intervalMs, hiddenFactor = 2 }) {
  let running = null;
  let again = false;
  let pollTimer = null;
  let polling = false;
  let failures = 0;

  /** Catches up; resolves to whether it succeeded. */
  function fill(reason = 'fill') {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      try {
        do {
          again = false;
          await fillOnce(reason);
        } while (again);
        failures = 0;
        return true;
      } catch (error) {
        failures++;
        onError(error);
        return false;
      } finally {
        running = null;
      }
    })();
    return running;
  }

  function tick() {
    pollTimer = null;
    if (!polling) return;
    fill('poll').finally(() => {
      if (!polling || pollTimer) return;
      let wait = intervalMs * (document.hidden ? hiddenFactor : 1);
      if (failures) wait = Math.min(30000, intervalMs * 2 ** Math.min(failures, 4));
      pollTimer = setTimeout(tick, wait);
    });
  }

  return {
    fill,
    /** Turns the poller on (nothing live) or off (live again). */
    setPolling(on) {
      if (on === polling) return;
      polling = on;
      clearTimeout(pollTimer);
      pollTimer = null;
      if (on) pollTimer = setTimeout(tick, intervalMs);
    },
    get polling() {
      return polling;
    },
  };
}
