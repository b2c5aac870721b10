// ui/message.js — owns how one message looks: sender and time, the text (a bot's Markdown
// formatted, people's words as text; links made safe), its attachment (image preview, audio
// player for voice notes, or a file link), its send state (sending, upload progress, failed with
// retry), a "Talk to a person" button under an unsure answer, the "Seen" receipt and emoji
// reactions.
// Each part is rebuilt only when its own data changed, so a reaction arriving never restarts a
// voice note that is playing.

import { h, linkify, parseTime } from '../../../shared/ui/dom.js';
import { renderMarkdown } from '../../../shared/ui/markdown.js';
import { reactionBar } from '../../../shared/ui/reactions.js';
import { icon } from './icons.js';

const IMAGE_EXT = /\.(png|jpe?g|gif|webp)$/i;
/** The message that asks for a person (the bots know it: crates/bot/src/intent.rs). */
export const TALK_TO_PERSON = '/human';

/** {short, long} for a timestamp in the visitor's language: the time today, else date and time. */
export function formatTime(iso, locale) {
  const d = parseTime(iso);
  if (!d) return { short: '', long: '' };
  const lang = locale || undefined;
  const time = new Intl.DateTimeFormat(lang, { hour: '2-digit', minute: '2-digit' }).format(d);
  const sameDay = d.toDateString() === new Date().toDateString();
  const short = sameDay ? time : new Intl.DateTimeFormat(lang, { month: 'short', day: 'numeric' }).format(d) + ' ' + time;
  return { short, long: new Intl.DateTimeFormat(lang, { dateStyle: 'medium', timeStyle: 'short' }).format(d) };
}

function displayName(m, ctx) {
  if (m.sender_type === 'visitor') return ctx.t('you');
  if (m.sender_name) return m.sender_name;
  return ctx.t(m.sender_type === 'agent' ? 'agent' : m.sender_type === 'bot' ? 'bot' : 'system');
}

function attachment(m, ctx) {
  const url = m._pending ? m._localUrl : ctx.url(m.attachment_path);
  if (!url) return null;
  const name = m.attachment_name || ctx.t('attachment', { name: '' }).trim();
  if (m.is_voice) {
    return h('audio', { controls: true, preload: 'metadata', src: url, 'aria-label': ctx.t('voiceNote') });
  }
  const isImage = m._pending ? (m._localType || '').startsWith('image/') : IMAGE_EXT.test(name);
  const link = () =>
    h('a', { class: 'file', href: url, target: '_blank', rel: 'noopener noreferrer', 'aria-label': ctx.t('attachment', { name }) }, icon('file'), name);
  if (!isImage) return link();
  const img = h('img', { src: url, alt: name, loading: 'lazy' });
  // Not an image after all (or gone): show it as a file link instead of a broken picture.
  img.addEventListener('error', () => img.parentElement?.replaceWith(link()), { once: true });
  img.addEventListener('load', () => ctx.onMediaLoad?.(), { once: true });
  return h('a', { href: url, target: '_blank', rel: 'noopener noreferrer' }, img);
}

/**
 * The words of a message. A bot writes Markdown (the site's knowledge, a language model's
 * answer), shown formatted by building nodes (`renderMarkdown`); what people type (the
 * visitor, an agent) is shown as typed, with only its http(s) links made links.
 */
function words(m, ctx) {
  // Each message takes its direction from its own text (dir="auto"): Arabic in an English widget
  // reads right to left, English in an Arabic one left to right, punctuation where it belongs.
  if (m.sender_type === 'bot') return h('div', { class: 'md', dir: 'auto' }, renderMarkdown(m.message));
  // What the "Talk to a person" button sends, in the visitor's words.
  if (m.sender_type === 'visitor' && m.message.trim().toLowerCase() === TALK_TO_PERSON) return h('div', { class: 'text', dir: 'auto', text: ctx.t('talkToPerson') });
  return h('div', { class: 'text', dir: 'auto' }, linkify(m.message));
}

/** Under the bot's latest answer when it was unsure: a button that asks for a person. */
function offer(m, ctx) {
  if (ctx.offerId == null || ctx.offerId !== m.id) return null;
  return h('div', { class: 'offer' }, h('button', { type: 'button', class: 'talk', onclick: () => ctx.onTalkToPerson?.(), text: ctx.t('talkToPerson') }));
}

function body(m, ctx) {
  const bubble = h('div', { class: 'bubble' });
  const media = m.attachment_path || m._localUrl ? attachment(m, ctx) : null;
  if (media) bubble.append(media);
  if (m.message) bubble.append(words(m, ctx));
  return bubble;
}

function note(m, ctx) {
  if (m._status === 'failed') {
    return h(
      'div',
      { class: 'note err', role: 'alert' },
      h('span', { text: ctx.t('failed') + ' ' + (m._error || '') }),
      h('button', { type: 'button', onclick: () => ctx.onRetry(m.client_id), text: ctx.t('retry') }),
      h('button', { type: 'button', onclick: () => ctx.onDiscard(m.client_id), text: ctx.t('discard') }),
    );
  }
  if (m._pending) {
    if (m._progress != null && m._progress < 1) {
      const pct = Math.round(m._progress * 100);
      return h(
        'div',
        { class: 'note' },
        h('span', { class: 'progress', role: 'progressbar', 'aria-valuemin': 0, 'aria-valuemax': 100, 'aria-valuenow': pct }, h('i', { style: 'width:' + pct + '%' })),
        h('span', { text: ctx.t('uploading', { percent: pct }) }),
      );
    }
    return h('div', { class: 'note', text: ctx.t('sending') });
  }
  if (ctx.seenId === m.id) return h('div', { class: 'note seen', text: ctx.t('seen') });
  return null;
}

const signatures = {
  body: (m) => [m.message, m.attachment_path, m._localUrl, m.is_voice].join('\u0000'),
  offer: (m, ctx) => String(ctx.offerId != null && ctx.offerId === m.id),
  note: (m, ctx) => [m._status, m._pending, m._progress == null ? '' : Math.round(m._progress * 100), m._error, ctx.seenId === m.id].join('|'),
  reacts: (m, ctx) => m.id + JSON.stringify(ctx.reactions[m.id] || []),
};

/** Creates or refreshes the node for message m. */
export function renderMessage(node, m, ctx) {
  if (!node) {
    node = h('li', { class: 'msg', 'data-key': m._key });
    node._sig = {};
    node._parts = {};
  }
  node.className = 'msg ' + m.sender_type + (m._pending ? ' pending' : '') + (m._status === 'failed' ? ' failed' : '');
  if (m.id != null) node.dataset.id = String(m.id);
  if (!node._parts.meta) {
    const time = formatTime(m.timestamp, ctx.t.locale);
    node._parts.meta =
      m.sender_type === 'system'
        ? h('div', { class: 'sr', text: displayName(m, ctx) })
        : h('div', { class: 'meta' }, h('b', { text: displayName(m, ctx) }), h('time', { datetime: m.timestamp || '', title: time.long, text: time.short }));
    node.append(node._parts.meta);
  }
  for (const [part, build] of [['body', body], ['offer', offer], ['note', note], ['reacts', reactionBar]]) {
    const sig = signatures[part](m, ctx);
    if (node._sig[part] === sig) continue;
    node._sig[part] = sig;
    const next = build(m, ctx) || document.createComment(part);
    if (node._parts[part]) node._parts[part].replaceWith(next);
    else node.append(next);
    node._parts[part] = next;
  }
  return node;
}
