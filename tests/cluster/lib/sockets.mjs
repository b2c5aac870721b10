// What a page's WebSockets carried, recorded inside the page: each socket's URL (so a test knows
// which node it reached), the text frames it received (so a test knows a message came over the
// socket, not by a fetch) and how it closed (the code: 4009 is "revoked").

/** Records every WebSocket the context's pages open from now on. */
export async function recordSockets(context) {
  await context.addInitScript(() => {
    const Native = window.WebSocket;
    const log = (window.__sockets = []);
    class Recorded extends Native {
      constructor(url, protocols) {
        super(url, protocols);
        const entry = { url: String(url), received: [], closed: null };
        log.push(entry);
        this.addEventListener('message', (e) => {
          if (typeof e.data === 'string') entry.received.push(e.data);
        });
        this.addEventListener('close', (e) => {
          entry.closed = { code: e.code, reason: e.reason };
        });
      }
    }
    window.WebSocket = Recorded;
  });
}

/** The page's sockets so far: [{url, received: [frame text], closed: {code, reason} | null}]. */
export function sockets(page) {
  return page.evaluate(() => window.__sockets || []);
}

/** The page's sockets to `node`'s realtime port. */
export async function socketsTo(page, node) {
  return (await sockets(page)).filter((s) => new URL(s.url).port === String(node.realtimePort));
}

/** Pusher frames with event `event` that a socket of the page to `node` received. */
export async function eventsOver(page, node, event) {
  const out = [];
  for (const s of await socketsTo(page, node)) {
    for (const text of s.received) {
      let frame;
      try {
        frame = JSON.parse(text);
      } catch {
        continue;
      }
      if (frame.event !== event) continue;
      let data = frame.data;
      try {
        data = typeof data === 'string' ? JSON.parse(data) : data;
      } catch {
        /* keep the text */
      }
      out.push({ channel: frame.channel, data });
    }
  }
  return out;
}
