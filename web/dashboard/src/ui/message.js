// ui/message.js — owns how one message looks in the conversation pane: sender (visitor, bot,
// agent, system, each with its own style) with name and time, the text (a bot's Markdown
// formatted as the visitor saw it, people's words as text; http(s) links made safe), its
// attachment (an image preview, an audio player for voice notes, or a file link;
// attachment_path is a signed link relative to the server), the reply's send state (sending,
// retrying, failed with Retry / Remove; a file reply's name, local preview and upload progress;
// a refused file with Remove only), "Seen" under the last reply the visitor has read, and
// reactions: the widget's chips and picker, with the agent as reactor (`agent:{id}`). Each part
// is rebuilt only when its own data changed.

import { h, linkify, formatTime, serverUrl } from '../../../shared/ui/dom.js';
import { renderMarkdown } from '../../../shared/ui/markdown.js';
import { icon } from './icons.js';
import { reactionBar } from '../../../shared/ui/reactions.js';

const LABELS = { react: 'Add a reaction', reactWith: 'React with {emoji}', reactionCount: '{emoji} {count}' };
const t = (key, vars = {}) => (LABELS[key] || key).replace(/\{(\w+)\}/g, (_, k) => String(vars[k] ?? ''));

const IMAGE_EXT = /\.(png|jpe?g|gif|webp|avif)$/i;

function displayName(m, ctx) {
  if (m.sender_type === 'visitor') return ctx.visitorName;
  if (m.sender_name) return m.sender_name;
  return m.sender_type === 'agent' ? 'Agent' : m.sender_type === 'bot' ? 'Bot' : 'System';
}

function attachment(m, ctx) {
  const url = serverUrl(ctx.base, m.attachment_path);
  if (!url) return null;
  const name = m.attachment_name || 'attachment';
  if (m.is_voice) return h('audio', { controls: true, preload: 'metadata', src: url, 'aria-label': 'Voice note' });
  const link = () => h('a', { class: 'file', href: url, target: '_blank', rel: 'noopener noreferrer' }, icon('file'), h('span', { text: name }));
  if (!IMAGE_EXT.test(name)) return link();
  const img = h('img', { src: url, alt: name, loading: 'lazy' });
  // Not an image after all (or gone): a file link instead of a broken picture.
  img.addEventListener('error', () => img.parentElement?.replaceWith(link()), { once: true });
  img.addEventListener('load', () => ctx.onMediaLoad?.(), { once: true });
  return h('a', { class: 'image', href: url, target: '_blank', rel: 'noopener noreferrer', 'aria-label': 'Image: ' + name }, img);
}

/** A file reply not stored yet: its name, and for an image its local preview (an object URL). */
function localFile(m, ctx) {
  const name = m.attachment_name || 'file';
  const img = m._preview && h('img', { src: m._preview, alt: '', onload: () => ctx.onMediaLoad?.(), onerror: () => img.remove() });
  return h('div', { class: 'local' }, img, h('span', { class: 'file' }, icon('file'), h('span', { text: name })));
}

function body(m, ctx) {
  const bubble = h('div', { class: 'bubble' });
  const media = m.attachment_path ? attachment(m, ctx) : m._upload ? localFile(m, ctx) : null;
  if (media) bubble.append(media);
  // A bot writes Markdown (shown formatted, as the widget shows it); people's words stay as typed.
  // dir="auto": each message takes its direction from its own text (Arabic reads right to left).
  if (m.message) bubble.append(m.sender_type === 'bot' ? h('div', { class: 'text md', dir: 'auto' }, renderMarkdown(m.message)) : h('div', { class: 'text', dir: 'auto' }, linkify(m.message)));
  return bubble;
}

function note(m, ctx) {
  if (m._status === 'failed') {
    return h(
      'div',
      { class: 'note err', role: 'alert' },
      h('span', { text: 'Not sent. ' + (m._error || '') }),
      m._refused ? null : h('button', { type: 'button', class: 'link', onclick: () => ctx.onRetry(m.client_id), text: 'Retry' }),
      h('button', { type: 'button', class: 'link', onclick: () => ctx.onDiscard(m.client_id), text: 'Remove' }),
    );
  }
  if (m._pending && m._upload) {
    const pct = Math.round((m._progress || 0) * 100);
    const label = 'Uploading ' + (m.attachment_name || 'file');
    return h('div', { class: 'note' }, h('progress', { max: 100, value: pct, 'aria-label': label }), h('span', { text: pct < 100 ? pct + '%' : 'Sending…' }));
  }
  if (m._pending) return h('div', { class: 'note', text: m._status === 'retrying' ? 'Not sent yet, retrying…' : 'Sending…' });
  if (ctx.seenId === m.id) return h('div', { class: 'note seen', text: 'Seen by the visitor' });
  return null;
}

function reactions(m, ctx) {
  if (m._pending || m._status === 'failed') return null;
  return reactionBar(m, { reactions: ctx.reactions, reactor: 'agent:' + ctx.selfId, t, onReact: ctx.onReact });
}

const signatures = {
  body: (m) => [m.message, m.attachment_path, m.attachment_name, m.is_voice, m._preview].join('\u0000'),
  note: (m, ctx) => [m._status, m._pending, m._error, m._refused, m._upload && Math.round((m._progress || 0) * 100), ctx.seenId === m.id].join('|'),
  reacts: (m, ctx) => [m.id, m._pending, m._status, JSON.stringify(ctx.reactions[m.id] || [])].join('|'),
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
  const metaSig = displayName(m, ctx) + '\u0000' + m.timestamp;
  if (node._sig.meta !== metaSig) {
    node._sig.meta = metaSig;
    const time = formatTime(m.timestamp);
    const meta =
      m.sender_type === 'system'
        ? h('div', { class: 'meta' }, h('time', { datetime: m.timestamp || '', title: time.long, text: time.short }))
        : h('div', { class: 'meta' }, h('b', { class: 'who', text: displayName(m, ctx) }), m.sender_type === 'bot' ? h('span', { class: 'tag', text: 'bot' }) : null, h('time', { datetime: m.timestamp || '', title: time.long, text: time.short }));
    if (node._parts.meta) node._parts.meta.replaceWith(meta);
    else node.prepend(meta);
    node._parts.meta = meta;
  }
  for (const [part, build] of [['body', body], ['note', note], ['reacts', reactions]]) {
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
