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

/**
 * Opens, in `page`, one more socket to `node`'s realtime server holding one private channel, the
 * Pusher protocol by hand, authorised by `node`'s `authPath` with `headers` (an agent's as a
 * dashboard would, a visitor's as the widget would). Unlike the dashboard and the widget it
 * never closes itself when its calls are refused, so only the server can close it. Resolves once
 * subscribed.
 */
export async function channelSocket(page, node, { key, channel, authPath, headers }) {
  await page.evaluate(
    async ({ port, key, channel, authUrl, headers }) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/app/${key}?protocol=7&client=cluster-test&version=1`);
      await new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('not subscribed within 15 s')), 15000);
        ws.addEventListener('close', (e) => reject(new Error(`closed with ${e.code} while subscribing`)));
        ws.addEventListener('message', async (e) => {
          const frame = JSON.parse(e.data);
          if (frame.event === 'pusher:connection_established') {
            const socketId = JSON.parse(frame.data).socket_id;
            const res = await fetch(authUrl, {
              method: 'POST',
              headers: { ...headers, 'Content-Type': 'application/x-www-form-urlencoded' },
              body: new URLSearchParams({ socket_id: socketId, channel_name: channel }),
            });
            if (!res.ok) return reject(new Error(`channel auth answered ${res.status}`));
            const { auth } = await res.json();
            ws.send(JSON.stringify({ event: 'pusher:subscribe', data: { channel, auth } }));
          } else if (frame.event === 'pusher_internal:subscription_succeeded' && frame.channel === channel) {
            clearTimeout(timer);
            resolve();
          }
        });
      });
    },
    { port: node.realtimePort, key, channel, authUrl: node.baseUrl + authPath, headers },
  );
}
