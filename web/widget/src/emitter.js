// emitter.js — owns the tiny event emitter every other module uses to talk without knowing each
// other. A listener that throws is reported and skipped: one host-page handler passed to
// ChatbotWidget.on() must never break message delivery.

export function createEmitter() {
  const listeners = new Map();
  return {
    on(event, fn) {
      if (typeof fn !== 'function') return () => {};
      if (!listeners.has(event)) listeners.set(event, new Set());
      listeners.get(event).add(fn);
      return () => listeners.get(event)?.delete(fn);
    },
    emit(event, ...args) {
      for (const fn of [...(listeners.get(event) || [])]) {
        try {
          fn(...args);
        } catch (error) {
          console.error('[chatbot] listener for "' + event + '" failed:', error);
        }
      }
    },
  };
}
