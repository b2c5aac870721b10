// i18n.js — owns every string a visitor can see or hear (screen readers included), in one object
// so a translation is one more object (locales/<code>.js, the same keys). The language is
// ChatbotConfig.locale, else the widget's setting `locale`, else the browser's languages, else
// English. Overrides come from the widget's settings (`strings`) and from ChatbotConfig.strings,
// in that order, on top of the language, so a site can reword anything without a rebuild.

import es from './locales/es.js';
import fr from './locales/fr.js';
import de from './locales/de.js';
import pt from './locales/pt.js';
import ar from './locales/ar.js';

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
  statusAgent: 'You are chatting with an agent',
  statusWaiting: 'Waiting for an agent…',
  statusClosed: 'This conversation is closed. Write to start a new one.',
  erased: 'This conversation was deleted. Write to start a new one.',
  offline: 'Connection lost. Retrying…',
  reconnecting: 'Reconnecting…',
  unavailable: 'Chat is unavailable right now.',
  tooLarge: '{name} is too large (max {max} MB).',
  fileType: '{name} is not a kind of file we can take.',
  fileEmpty: '{name} is empty.',
  fileRefused: '{name} could not be sent.',
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
  preChatIntro: 'Before we start, please tell us a little about you.',
  preChatName: 'Name',
  preChatEmail: 'Email',
  preChatPhone: 'Phone',
  preChatOptional: '{label} (optional)',
  preChatStart: 'Start chat',
  preChatRequired: '{label} is required.',
  preChatEmailInvalid: 'Enter an email address.',
  preChatPhoneInvalid: 'Enter a telephone number.',
  preChatNumberInvalid: 'Enter a number.',
  preChatChoose: 'Choose…',
  preChatConsentRequired: 'Please tick the box to continue.',
  preChatFailed: 'We could not start the chat. Please try again.',
  proactiveClose: 'Dismiss message',
  statusAwayAt: 'We are away · back at {time}',
  statusAwayOn: 'We are away · back {day} at {time}',
  statusAwayClosed: 'We are away right now',
  statusAwayEmail: 'We are away · we will reply by email',
  awayEmailIntro: 'Our team is away. Leave your email and we will reply to you there.',
  awayEmailLabel: 'Your email',
  awayEmailSend: 'Send',
  awayEmailInvalid: 'Enter an email address.',
  awayEmailFailed: 'Your email was not saved. Please try again.',
  awayEmailThanks: 'Thanks! We will reply to {email}.',
  talkToPerson: 'Talk to a person',
};

/** Every language the widget speaks, by its primary language subtag. */
export const LOCALES = { en, es, fr, de, pt, ar };

const RTL = new Set(['ar', 'fa', 'he', 'ur']);

/** 'pt-BR' → 'pt', 'FR' → 'fr'; null when the widget does not speak it. */
export function supportedLocale(tag) {
  if (typeof tag !== 'string') return null;
  const base = tag.trim().toLowerCase().split(/[-_]/)[0];
  return Object.prototype.hasOwnProperty.call(LOCALES, base) ? base : null;
}

/**
 * The language to use: the page's (ChatbotConfig.locale), else the widget's setting, else the
 * first of the browser's languages the widget speaks, else English.
 */
export function pickLocale(configLocale, settingLocale, browserLanguages = []) {
  for (const tag of [configLocale, settingLocale]) {
    const found = supportedLocale(tag);
    if (found) return found;
  }
  for (const tag of browserLanguages || []) {
    const found = supportedLocale(tag);
    if (found) return found;
  }
  return 'en';
}

export const isRtl = (locale) => RTL.has(locale);

/**
 * Returns t(key, vars) for `locale`: the string with {placeholders} filled, falling back to
 * English; `t.locale` is the language and `t.dir` its direction ('ltr' or 'rtl').
 */
export function createTranslator(locale, ...overrides) {
  const lang = supportedLocale(locale) || 'en';
  const table = Object.assign({}, en, LOCALES[lang]);
  for (const o of overrides) {
    if (!o || typeof o !== 'object') continue;
    for (const [k, v] of Object.entries(o)) if (typeof v === 'string') table[k] = v;
  }
  const t = (key, vars) => {
    const text = table[key] ?? key;
    return vars ? text.replace(/\{(\w+)\}/g, (m, name) => (name in vars ? String(vars[name]) : m)) : text;
  };
  t.locale = lang;
  t.dir = isRtl(lang) ? 'rtl' : 'ltr';
  return t;
}
