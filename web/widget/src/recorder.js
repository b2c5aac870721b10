// recorder.js — owns voice notes: the microphone through MediaRecorder, in the first container
// this browser records (audio/webm with Opus in Chromium and Firefox, audio/mp4 in Safari; the
// server sniffs the bytes and accepts those), with a length cap so a forgotten recording does not
// become a 100 MB upload. The microphone is released as soon as recording stops.

const TYPES = ['audio/webm;codecs=opus', 'audio/webm', 'audio/ogg;codecs=opus', 'audio/mp4'];
const MAX_MS = 5 * 60 * 1000;

export function recorderSupported() {
  return typeof MediaRecorder === 'function' && !!navigator.mediaDevices?.getUserMedia;
}

function pickType() {
  for (const type of TYPES) if (MediaRecorder.isTypeSupported?.(type)) return type;
  return '';
}

function extensionFor(type) {
  if (type.includes('mp4')) return 'm4a';
  if (type.includes('ogg')) return 'ogg';
  return 'webm';
}

/** Starts recording; resolves to {stop(): Promise<File|null>, cancel(), startedAt} once the mic is open. */
export async function startRecording({ onAutoStop } = {}) {
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  const type = pickType();
  let recorder;
  try {
    recorder = new MediaRecorder(stream, type ? { mimeType: type } : undefined);
  } catch (error) {
    stream.getTracks().forEach((track) => track.stop());
    throw error;
  }
  const chunks = [];
  let cancelled = false;
  const done = new Promise((resolve) => {
    recorder.ondataavailable = (e) => e.data && e.data.size && chunks.push(e.data);
    recorder.onstop = () => {
      stream.getTracks().forEach((track) => track.stop());
      if (cancelled || !chunks.length) return resolve(null);
      const mime = (recorder.mimeType || type || 'audio/webm').split(';')[0];
      const blob = new Blob(chunks, { type: mime });
      const name = 'voice-note-' + new Date().toISOString().replace(/[:.]/g, '-') + '.' + extensionFor(mime);
      resolve(new File([blob], name, { type: mime }));
    };
  });
  recorder.start(1000); // a chunk a second: a crash mid-note still leaves data to send
  const cap = setTimeout(() => {
    if (recorder.state === 'recording') {
      recorder.stop();
      onAutoStop?.();
    }
  }, MAX_MS);
  const stop = () => {
    clearTimeout(cap);
    if (recorder.state !== 'inactive') recorder.stop();
    return done;
  };
  return {
    startedAt: Date.now(),
    stop,
    done,
    cancel() {
      cancelled = true;
      stop();
    },
  };
}
