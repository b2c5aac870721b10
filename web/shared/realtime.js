// realtime.js — owns the socket's provider chain as the widget and the dashboard both run it:
// Pusher when enabled, then Reverb, each tried a few times (each attempt timed, then a pause),
// then polling, with the sockets tried again every 30 s; once connected, pusher-js reconnects by
// itself and a socket that fails for good falls back to polling. laravel-echo 2 and pusher-js 8
// (its smallest browser build, without encryption) are bundled, never loaded from a CDN, and
// handed to each other directly, so a host page's own window.Echo / window.Pusher are neither
// needed nor touched. Which channels to follow, and what counts as live, is each bundle's own.
//
// Echo's options come from the config endpoint's shape (`pusher{key,cluster,encrypted,host,port}`,
// `reverb{key,host,port,scheme}`). WebSocket transports only: pusher-js's xhr/sockjs fallbacks
// load scripts from a CDN. Channels are authorised by the bundle's own API call rather than
// Echo's authEndpoint: it carries the bundle's tokens, says which provider's key must sign, and
// keeps a host page's CSRF meta tag out of the request.

import Echo from 'laravel-echo';
import Pusher from 'pusher-js/dist/web/pusher.min.js';

export const REALTIME_CONFIG = {
  providers: ['pusher', 'reverb'], // priority order, as in the seed
  reconnectAttempts: 5,
  reconnectDelay: 1000,
  attemptTimeout: 3000, // pusher-js retries a refused socket silently, so each attempt is timed
  retryFallbackAfter: 30000, // while polling, try the sockets again this often
  resubscribeAfter: 30000, // after a subscription error
};

export const LABEL = { pusher: 'Pusher', reverb: 'Reverb' };

/** Echo's options for `provider`; `authorize(socketId, channelName)` signs each channel. */
export function echoOptions(config, provider, authorize) {
  const common = {
    Pusher,
    withoutInterceptors: true, // never add X-Socket-Id to a host page's axios/jQuery calls
    enabledTransports: ['ws', 'wss'],
    disableStats: true,
    auth: { headers: {} },
    channelAuthorization: {
      customHandler: ({ socketId, channelName }, callback) =>
        authorize(socketId, channelName).then(
          (res) => callback(null, res),
          (error) => callback(error, null),
        ),
    },
  };
  if (provider === 'pusher') {
    const p = config.pusher;
    const o = { broadcaster: 'pusher', key: p.key, cluster: p.cluster || 'mt1', forceTLS: p.encrypted !== false };
    if (p.host) Object.assign(o, { wsHost: p.host, wsPort: Number(p.port) || 80, wssPort: Number(p.port) || 443 });
    return Object.assign(common, o);
  }
  const r = config.reverb;
  const tls = r.scheme === 'https';
  const port = Number(r.port) || (tls ? 443 : 80);
  const options = { broadcaster: 'reverb', key: r.key, wsHost: r.host || location.hostname, wsPort: port, wssPort: port, forceTLS: tls };
  // REVERB_SERVER_PATH: the server answers at {path}/app/{key} (a proxy routing by path).
  if (r.path) options.wsPath = r.path;
  return Object.assign(common, options);
}

/**
 * @param {object} o
 * @param {object} o.config `{pusher, reverb}` from the server: which providers, their keys
 * @param {object} o.api `authorize(socketId, channelName, provider)` signs the channels
 * @param {object} [o.options] overrides of REALTIME_CONFIG (merged into `opts`)
 * @param {string} [o.prefix] put before console lines ('[dashboard] ')
 * @param {object} o.on what the bundle does when:
 *   `adopted(echo, name)` a provider connected (subscribe now);
 *   `down()` the connected socket dropped (pusher-js reconnects and resubscribes by itself);
 *   `polling()` no socket at all (the chain tries again after `retryFallbackAfter`);
 *   `trying(name)`, `failed(name, next)`, `exhausted()` around the attempts, for log lines.
 */
export function createProviderChain({ config, api, options, prefix = '', on }) {
  const opts = Object.assign({}, REALTIME_CONFIG, options);
  let echo = null;
  let provider = null; // 'pusher' | 'reverb' | 'polling' | null (not started, or connecting)
  let generation = 0;
  let retryTimer = null;
  let stopped = false;

  function chain() {
    return opts.providers.filter((name) => config?.[name]?.enabled && config?.[name]?.key);
  }

  /**
   * Starts Echo for `name` and resolves to it once connected, or to null: after `attempts` tries
   * (each given attemptTimeout ms, then reconnectDelay ms apart, since pusher-js retries a refused
   * socket silently), when pusher-js reports no WebSocket support, when Echo cannot start, or as
   * soon as a newer connect() supersedes this one (`gen`).
   */
  function attempt(name, gen, attempts) {
    return new Promise((resolve) => {
      let e;
      try {
        e = new Echo(echoOptions(config, name, (socketId, channel) => api.authorize(socketId, channel, name)));
      } catch (error) {
        console.warn(prefix + LABEL[name] + ' could not start:', error);
        return resolve(null);
      }
      const connection = e.connector.pusher.connection;
      const isCurrent = () => gen === generation;
      let tries = 0;
      let timer = null;
      let settled = false;
      const finish = (ok) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        connection.unbind('state_change', onState);
        if (!ok) e.disconnect();
        resolve(ok ? e : null);
      };
      const onState = ({ current }) => {
        if (!isCurrent()) finish(false);
        else if (current === 'connected') finish(true);
        else if (current === 'failed') finish(false); // no WebSocket support at all
      };
      const arm = () => {
        timer = setTimeout(() => {
          if (!isCurrent() || ++tries >= attempts) return finish(false);
          e.disconnect();
          timer = setTimeout(() => {
            if (settled) return;
            e.connector.pusher.connect();
            arm();
          }, opts.reconnectDelay);
        }, opts.attemptTimeout);
      };
      connection.bind('state_change', onState);
      arm();
    });
  }

  async function connect(attempts = opts.reconnectAttempts) {
    const gen = ++generation;
    clearTimeout(retryTimer);
    const names = chain();
    for (let i = 0; i < names.length; i++) {
      on.trying(names[i]);
      const e = await attempt(names[i], gen, attempts);
      if (gen !== generation || stopped) return e?.disconnect();
      if (e) return adopt(e, names[i]);
      on.failed(names[i], names[i + 1]);
    }
    on.exhausted();
    usePolling();
  }

  function adopt(e, name) {
    if (echo && echo !== e) echo.disconnect();
    echo = e;
    provider = name;
    e.connector.pusher.connection.bind('state_change', ({ current }) => {
      if (echo !== e) return;
      if (current !== 'connected') on.down();
      if (current === 'failed') usePolling();
    });
    on.adopted(e, name);
  }

  function usePolling() {
    if (echo) echo.disconnect();
    echo = null;
    provider = 'polling';
    on.polling();
    if (!stopped && chain().length) later(() => connect(1), opts.retryFallbackAfter);
  }

  /**
   * Runs `fn` after `ms` (by default `resubscribeAfter`) on the chain's one retry timer: a newer
   * use, or a connect, cancels it.
   */
  function later(fn, ms = opts.resubscribeAfter) {
    clearTimeout(retryTimer);
    retryTimer = setTimeout(fn, ms);
  }

  return {
    opts,
    start() {
      if (chain().length) connect();
      else usePolling();
    },
    later,
    /** The network came back: let pusher-js retry now rather than after its back-off. */
    nudge() {
      if (echo && echo.connector.pusher.connection.state !== 'connected') echo.connector.pusher.connect();
      else if (!echo && provider === 'polling' && chain().length) connect(1);
    },
    stop() {
      stopped = true;
      generation++;
      clearTimeout(retryTimer);
      echo?.disconnect();
      echo = null;
    },
    get echo() {
      return echo;
    },
    get provider() {
      return provider;
    },
  };
}
