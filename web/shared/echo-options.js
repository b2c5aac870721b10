// echo-options.js — Laravel Echo's options for one provider, built from the config endpoint's
// shape (`pusher{key,cluster,encrypted,host,port}`, `reverb{key,host,port,scheme}`), and
// connecting with them (timed attempts). Shared by the widget and the agents' dashboard, which
// bundle it each; it imports nothing, so each bundle hands in its own Echo and pusher-js.
//
// WebSocket transports only: pusher-js's xhr/sockjs fallbacks load scripts from a CDN. Channels
// are authorised by the caller's own handler rather than Echo's authEndpoint: it carries the
// caller's tokens, says which provider's key must sign, and keeps a host page's CSRF meta tag
// out of the request.

/**
 * @param {object} o
 * @param {Function} o.Pusher the pusher-js class
 * @param {object} o.config `{pusher, reverb}` from the config endpoint
 * @param {'pusher'|'reverb'} o.provider
 * @param {(socketId: string, channelName: string) => Promise<object>} o.authorize
 */
export function echoOptions({ Pusher, config, provider, authorize }) {
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
  return Object.assign(common, { broadcaster: 'reverb', key: r.key, wsHost: r.host || location.hostname, wsPort: port, wssPort: port, forceTLS: tls });
}

/**
 * Starts `Echo` with `options` and resolves to it once connected, or to null: after `attempts`
 * tries (each given `attemptTimeout` ms, then `reconnectDelay` ms apart, since pusher-js retries
 * a refused socket silently), when pusher-js reports no WebSocket support, or as soon as
 * `isCurrent()` turns false (a newer connection attempt superseded this one). A failure to
 * construct is handed to `onError` and resolves to null.
 */
export function connectEcho({ Echo, options, attempts, attemptTimeout, reconnectDelay, isCurrent, onError }) {
  return new Promise((resolve) => {
    let e;
    try {
      e = new Echo(options);
    } catch (error) {
      onError(error);
      return resolve(null);
    }
    const connection = e.connector.pusher.connection;
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
        }, reconnectDelay);
      }, attemptTimeout);
    };
    connection.bind('state_change', onState);
    arm();
  });
}
