// echo-options.js — Laravel Echo's options for one provider, built from the config endpoint's
// shape (`pusher{key,cluster,encrypted,host,port}`, `reverb{key,host,port,scheme}`). Shared by
// the widget and the agents' dashboard, which bundle it each; it imports nothing, so each
// bundle hands in its own pusher-js.
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
