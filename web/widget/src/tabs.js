// tabs.js — owns talking to the visitor's other tabs of the same site: a new or forgotten
// conversation (through the `storage` event, which every browser has), and, through a
// BroadcastChannel where there is one, messages stored and read receipts, so every tab shows the
// same chat and the same unread count at once, even while polling.

import { createEmitter } from './emitter.js';

export function createTabs(storage) {
  const events = createEmitter();
  const name = storage.keys.session.replace(/:session$/, '');
  let channel = null;
  try {
    if (typeof BroadcastChannel === 'function') {
      channel = new BroadcastChannel(name);
      channel.onmessage = (e) => {
        const data = e.data;
        if (data && typeof data.type === 'string') events.emit(data.type, data);
      };
    }
  } catch {
    channel = null; // opaque origins (sandboxed iframes) refuse it
  }

  window.addEventListener('storage', (event) => {
    const session = storage.sessionFromEvent(event);
    if (session !== undefined) events.emit('session', { session });
  });

  return {
    on: events.on,
    /** Tells the other tabs; never echoed back to this one. */
    post(type, payload) {
      try {
        channel?.postMessage(Object.assign({ type }, payload));
      } catch {
        /* a message that cannot be cloned is simply not shared */
      }
    },
  };
}
