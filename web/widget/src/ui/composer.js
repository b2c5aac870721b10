// ui/composer.js — owns writing: the text box (Enter sends, Shift+Enter adds a line, IME
// composition is respected), attaching files (button, paste; size checked before any upload),
// recording a voice note (a visible, cancellable recording bar with a timer) and reporting when
// the visitor starts and stops typing.

import { h } from '../../../shared/ui/dom.js';
import { icon } from './icons.js';
import { recorderSupported, startRecording } from '../recorder.js';

const IDLE_MS = 4000;

export function createComposer({ t, limits, onSend, onFile, onVoice, onTyping, onError }) {
  const maxBytes = Number(limits?.max_upload_bytes) || 10 * 1024 * 1024;
  const maxChars = Number(limits?.max_message_chars) || 5000;
  let typing = false;
  let idleTimer = null;
  let recording = null;
  let tick = null;

  const setTyping = (on) => {
    clearTimeout(idleTimer);
    if (on) idleTimer = setTimeout(() => setTyping(false), IDLE_MS);
    if (on !== typing || on) onTyping(on);
    typing = on;
  };

  const input = h('textarea', { rows: 1, dir: 'auto', placeholder: t('inputPlaceholder'), 'aria-label': t('inputLabel'), maxlength: maxChars, enterkeyhint: 'send' });
  const fileInput = h('input', { type: 'file', class: 'sr', tabindex: -1, 'aria-hidden': 'true', accept: 'image/*,application/pdf,text/plain', multiple: true });
  const attachBtn = h('button', { type: 'button', class: 'tool', 'aria-label': t('attach'), title: t('attach') }, icon('clip'));
  const micBtn = h('button', { type: 'button', class: 'tool', 'aria-label': t('recordVoice'), title: t('recordVoice') }, icon('mic'));
  const sendBtn = h('button', { type: 'button', class: 'tool send', 'aria-label': t('send'), title: t('send') }, icon('send'));
  const recTime = h('span', { role: 'timer', 'aria-live': 'off' });
  const cancelRec = h('button', { type: 'button', class: 'tool', 'aria-label': t('cancelRecording'), title: t('cancelRecording') }, icon('close'));
  const stopRec = h('button', { type: 'button', class: 'tool stop', 'aria-label': t('stopAndSend'), title: t('stopAndSend') }, icon('stop'));
  const recBar = h('div', { class: 'rec', hidden: true }, h('span', { class: 'dot' }), recTime);
  const el = h('div', { class: 'composer' }, fileInput, attachBtn, input, recBar, micBtn, cancelRec, stopRec, sendBtn);
  if (!recorderSupported()) micBtn.hidden = true;

  function grow() {
    input.style.height = 'auto';
    input.style.height = Math.min(input.scrollHeight + 2, 120) + 'px';
  }

  function send() {
    const text = input.value.trim();
    if (!text) return;
    if (text.length > maxChars) return onError(t('tooLong', { max: maxChars }));
    input.value = '';
    grow();
    setTyping(false);
    onSend(text);
  }

  function addFiles(files) {
    for (const file of files) {
      if (file.size > maxBytes) onError(t('tooLarge', { name: file.name, max: Math.floor(maxBytes / 1048576) }));
      else onFile(file);
    }
  }

  function showRecording(on) {
    recBar.hidden = !on;
    cancelRec.hidden = stopRec.hidden = !on;
    input.hidden = attachBtn.hidden = sendBtn.hidden = on;
    micBtn.hidden = on || !recorderSupported();
  }

  function updateTimer() {
    const s = Math.floor((Date.now() - recording.startedAt) / 1000);
    recTime.textContent = t('recording', { time: Math.floor(s / 60) + ':' + String(s % 60).padStart(2, '0') });
  }

  async function startVoice() {
    try {
      recording = await startRecording({ onAutoStop: () => finishVoice(true) });
    } catch (error) {
      return onError(error?.name === 'NotAllowedError' ? t('micDenied') : t('micUnsupported'));
    }
    showRecording(true);
    updateTimer();
    tick = setInterval(updateTimer, 500);
    stopRec.focus();
  }

  async function finishVoice(send) {
    if (!recording) return;
    const r = recording;
    recording = null;
    clearInterval(tick);
    showRecording(false);
    micBtn.focus();
    if (!send) return r.cancel();
    const file = await r.stop();
    if (file) onVoice(file);
  }

  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
      e.preventDefault();
      send();
    }
  });
  input.addEventListener('input', () => {
    grow();
    setTyping(input.value.trim().length > 0);
  });
  input.addEventListener('blur', () => typing && setTyping(false));
  input.addEventListener('paste', (e) => {
    const files = [...(e.clipboardData?.files || [])];
    if (files.length) {
      e.preventDefault();
      addFiles(files);
      return;
    }
    // The box keeps at most maxChars: say so rather than cut the paste silently.
    const pasted = e.clipboardData?.getData('text') || '';
    const kept = input.value.length - (input.selectionEnd - input.selectionStart);
    if (kept + pasted.length > maxChars) onError(t('tooLong', { max: maxChars }));
  });
  sendBtn.addEventListener('click', send);
  attachBtn.addEventListener('click', () => fileInput.click());
  fileInput.addEventListener('change', () => {
    addFiles([...fileInput.files]);
    fileInput.value = '';
  });
  micBtn.addEventListener('click', startVoice);
  stopRec.addEventListener('click', () => finishVoice(true));
  cancelRec.addEventListener('click', () => finishVoice(false));
  showRecording(false);

  return {
    el,
    input,
    focus: () => (recording ? stopRec : input).focus(),
    /** Esc while recording cancels the recording instead of closing the panel. */
    cancelRecording() {
      if (!recording) return false;
      finishVoice(false);
      return true;
    },
  };
}
