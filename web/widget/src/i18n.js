// i18n.js — owns every string a visitor can see or hear (screen readers included), in one object
// so a translation is one more object. Overrides come from the widget's settings (`strings`) and
// from ChatbotConfig.strings, in that order, so a site can reword anything without a rebuild.

export const en = {
  openChat: 'Open chat',
  closeChat: 'Close chat',
  chatTitle: 'Chat',
  unreadBadge: '{count} unread messages',
  messagesLabel: 'Messages',
  inputPlaceholder: 'Write a message…',
  inputLabel: 'Message',
  send: 'Send',
  attach: 'Attach a file',
  recordVoice: 'Record a voice note',
  stopAndSend: 'Stop and send the voice note',
  cancelRecording: 'Cancel recording',
  recording: 'Recording {time}',
  micDenied: 'Microphone access was denied.',
  micUnsupported: 'Voice notes are not supported in this browser.',
  you: 'You',
  bot: 'Bot',
  agent: 'Agent',
  system: 'System',
  sending: 'Sending…',
  uploading: 'Uploading {percent}%',
  failed: 'Not sent.',
  retry: 'Retry',
  discard: 'Remove',
  seen: 'Seen',
  typing: '{name} is typing',
  someone: 'Someone',
  react: 'Add a reaction',
  reactWith: 'React with {emoji}',
  reactionCount: '{emoji} {count}',
  voiceNote: 'Voice note',
  attachment: 'Attachment: {name}',
  newMessageFrom: 'New message from {name}: {text}',
  titleNewMessage: '({count}) New message',
  statusOnline: 'We are online',
  statusAway: 'We will reply as soon as we can',
  statusBot: 'Our assistant answers right away',
  statusAgent: 'An agent has joined',
  statusWaiting: 'Waiting for an agent…',
  statusClosed: 'This conversation has ended. Write to start a new one.',
  offline: 'Connection lost. Retrying…',
  unavailable: 'Chat is unavailable right now.',
  tooLarge: '{name} is larger than {max} MB.',
  tooLong: 'Messages can have at most {max} characters.',
  rateQuestion: 'How was this conversation?',
  rateScore: '{score} of 5, {label}',
  rate1: 'Very bad',
  rate2: 'Bad',
  rate3: 'OK',
  rate4: 'Good',
  rate5: 'Excellent',
  rateComment: 'Comment (optional)',
  rateSend: 'Send',
  rateChoose: 'Choose a score from 1 to 5 first.',
  rateFailed: 'Your feedback was not sent. Please try again.',
  rateThanks: 'Thanks for your feedback',
};

/** Returns t(key, vars): the string with {placeholders} filled, falling back to English. */
export function createTranslator(...overrides) {
  const table = Object.assign({}, en);
  for (const o of overrides) {
    if (!o || typeof o !== 'object') continue;
    for (const [k, v] of Object.entries(o)) if (typeof v === 'string') table[k] = v;
  }
  return (key, vars) => {
    const text = table[key] ?? key;
    return vars ? text.replace(/\{(\w+)\}/g, (m, name) => (name in vars ? String(vars[name]) : m)) : text;
  };
}
