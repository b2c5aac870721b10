// Shared helpers: waiting for events with timeouts, a raw `ws` client that
// records frames, pusher-js / node SDK factories and per-test cleanup.
//
// Nothing here sleeps to wait for readiness: every wait is for an event or a
// frame, bounded by a timeout that fails the test with a description of what
// was seen instead.

import WebSocket from 'ws';
import PusherJS from 'pusher-js'; // the Node build already bundles tweetnacl (PusherWithEncryption)
import PusherSDK from 'pusher';

import { DEFAULT_WAIT_MS, track, waitFor, withTimeout } from './wait.mjs';

export * from './wait.mjs';
export * from './raw-client.mjs';
export { PusherJS, PusherSDK, WebSocket };

PusherJS.logToConsole = false;

// pusher-js's Node transport (faye-websocket) arms a 30 s "close timeout"
// timer whenever pusher-js calls close() on a socket the server already
// closed (e.g. after a 4009 terminate). The timer changes nothing about the
// protocol but keeps the test process alive for 30 s; unref it so it does not.
{
  const Faye = PusherJS.Runtime.getWebSocketAPI();
  class UnrefCloseTimer extends Faye {
    close(...args) {
      const result = super.close(...args);
      this._closeTimer?.unref?.();
      return result;
    }
  }
  PusherJS.Runtime.getWebSocketAPI = () => UnrefCloseTimer;
}

// ---------------------------------------------------------------- official SDKs

/** The node server SDK pointed at the test server. */
export function sdkFor(server, app, overrides = {}) {
  return new PusherSDK({
    appId: app.id,
    key: app.key,
    secret: app.secret,
    host: server.host,
    port: server.port,
    useTLS: false,
    ...overrides,
  });
}

/**
 * A channelAuthorization customHandler signing with the node SDK.
 * `presence` gives the presence member: { user_id, user_info }.
 */
export function sdkChannelAuth(sdk, { presence } = {}) {
  return ({ socketId, channelName }, callback) => {
    try {
      const data = channelName.startsWith('presence-') ? presence : undefined;
      callback(null, sdk.authorizeChannel(socketId, channelName, data));
    } catch (err) {
      callback(err, null);
    }
  };
}

/** A userAuthentication customHandler signing `user` with the node SDK. */
export function sdkUserAuth(sdk, user) {
  return ({ socketId }, callback) => {
    try {
      callback(null, sdk.authenticateUser(socketId, user));
    } catch (err) {
      callback(err, null);
    }
  };
}

/** pusher-js options for the test server (ws only, no stats). */
export function pusherOptions(server, extra = {}) {
  return {
    cluster: 'mt1',
    wsHost: server.host,
    wsPort: server.port,
    forceTLS: false,
    enabledTransports: ['ws'],
    disableStats: true,
    ...extra,
  };
}

/** A pusher-js client (not yet waited on). Pass `sdk` to sign channels. */
export function newPusher(server, app, { sdk, presence, user, ...extra } = {}) {
  const opts = pusherOptions(server, extra);
  if (sdk && !opts.channelAuthorization) {
    opts.channelAuthorization = { customHandler: sdkChannelAuth(sdk, { presence }) };
  }
  if (sdk && user && !opts.userAuthentication) {
    opts.userAuthentication = { customHandler: sdkUserAuth(sdk, user) };
  }
  return track(new PusherJS(app.key, opts));
}

/** A pusher-js client, resolved once connected. */
export async function connectPusher(server, app, opts = {}, ms = DEFAULT_WAIT_MS) {
  const p = newPusher(server, app, opts);
  if (p.connection.state !== 'connected') await waitFor(p.connection, 'connected', ms);
  return p;
}

/** Subscribes with pusher-js; resolves with [channel, data] on success, rejects on subscription_error. */
export async function subscribed(pusher, name, ms = DEFAULT_WAIT_MS) {
  const channel = pusher.subscribe(name);
  if (channel.subscribed) return [channel, undefined];
  let offOk;
  let offErr;
  const p = new Promise((res, rej) => {
    const ok = (data) => res([channel, data]);
    const err = (e) => rej(new Error(`subscription_error on ${name}: ${JSON.stringify(e)}`));
    channel.bind('pusher:subscription_succeeded', ok);
    channel.bind('pusher:subscription_error', err);
    offOk = () => channel.unbind('pusher:subscription_succeeded', ok);
    offErr = () => channel.unbind('pusher:subscription_error', err);
  });
  return withTimeout(p, ms, `subscription_succeeded on ${name}`).finally(() => {
    offOk();
    offErr();
  });
}

/** Subscribes with pusher-js and resolves with the subscription_error data. */
export function subscriptionError(pusher, name, ms = DEFAULT_WAIT_MS) {
  const channel = pusher.subscribe(name);
  return new Promise((res, rej) => {
    const ok = () => rej(new Error(`expected subscription_error on ${name}, got subscription_succeeded`));
    channel.bind('pusher:subscription_succeeded', ok);
    waitFor(channel, 'pusher:subscription_error', ms).then(
      (e) => {
        channel.unbind('pusher:subscription_succeeded', ok);
        res(e);
      },
      (err) => {
        channel.unbind('pusher:subscription_succeeded', ok);
        rej(err);
      },
    );
  });
}

/** Plain HTTP GET/POST against the test server. */
export async function http(server, method, path, { body, headers } = {}) {
  const res = await fetch(`${server.httpUrl}${path}`, { method, body, headers });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text };
}
