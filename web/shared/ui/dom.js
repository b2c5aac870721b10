// ui/dom.js — owns building DOM safely, for the widget and the dashboard alike. Every piece of
// text from a visitor, an agent, a bot or the server goes in as a text node (textContent); the
// only markup is our own icons, built with createElementNS from fixed path data. Links are made
// only from http(s) URLs (validated with URL()) and open in a new tab with
// rel="noopener noreferrer nofollow"; javascript:, data: and the rest stay plain text. Also:
// times, relative times, server-relative attachment links and safe CSS colours.

const SVG = 'http://www.w3.org/2000/svg';

/** h('div', {class: 'x', onclick: fn, 'aria-label': '…', text: '…'}, child, 'text', …) */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c == null || c === false) continue;
    el.append(typeof c === 'string' ? document.createTextNode(c) : c);
  }
  return el;
}

/** The controls inside `el` that Tab can reach now: enabled, and shown (not in a hidden part). */
export function focusableIn(el) {
  return [...el.querySelectorAll('button, [href], input, select, textarea, [tabindex]:not([tabindex="-1"])')].filter(
    (c) => !c.disabled && c.getClientRects().length > 0,
  );
}

/** An icon drawn from our own path data `d` (never from user data). */
export function svgIcon(d) {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  const path = document.createElementNS(SVG, 'path');
  path.setAttribute('d', d);
  svg.append(path);
  return svg;
}

/** `icon(name)` over a bundle's own table of path data, so each bundle carries only its icons. */
export function iconSet(paths) {
  return (name) => svgIcon(paths[name]);
}

/** The URL if it is an absolute http(s) URL, else null. */
export function httpUrl(raw) {
  if (typeof raw !== 'string' || !raw) return null;
  try {
    const url = new URL(raw);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
  } catch {
    return null;
  }
}

/** A link that leaves the page safely. */
export function externalLink(href, text) {
  return h('a', { href, target: '_blank', rel: 'noopener noreferrer nofollow', text });
}

const URL_RE = /\bhttps?:\/\/[^\s<>"'`]+/gi;

/**
 * A bare URL without the punctuation that ends the sentence around it ("see https://a.b/c."),
 * keeping a closing bracket whose opening one is inside the URL (Wikipedia-style links); `extra`
 * adds characters to drop from the end. Counts the brackets once, then walks back: linear in
 * the URL's length however much punctuation trails it.
 */
export function trimUrl(raw, extra = '') {
  const pairs = { ')': '(', ']': '[', '}': '{' };
  const count = { '(': 0, ')': 0, '[': 0, ']': 0, '{': 0, '}': 0 };
  for (const c of raw) if (c in count) count[c]++;
  const trailing = '.,;:!?)]}\'"' + extra;
  let end = raw.length;
  while (end > 0 && trailing.includes(raw[end - 1])) {
    const c = raw[end - 1];
    const open = pairs[c];
    if (open && count[open] >= count[c]) break;
    if (c in count) count[c]--;
    end--;
  }
  return raw.slice(0, end);
}

/** Text with its http(s) URLs as safe links, as a DocumentFragment. */
export function linkify(text) {
  const frag = document.createDocumentFragment();
  const s = String(text);
  let last = 0;
  for (const match of s.matchAll(URL_RE)) {
    const raw = trimUrl(match[0]);
    const href = httpUrl(raw);
    if (!href) continue;
    frag.append(document.createTextNode(s.slice(last, match.index)));
    frag.append(externalLink(href, raw));
    last = match.index + raw.length;
  }
  frag.append(document.createTextNode(s.slice(last)));
  return frag;
}

export function parseTime(iso) {
  const d = iso ? new Date(iso) : null;
  return d && !Number.isNaN(d.getTime()) ? d : null;
}

/** {short, long} for a timestamp: the time today, else the date and time. */
export function formatTime(iso) {
  const d = parseTime(iso);
  if (!d) return { short: '', long: '' };
  const sameDay = d.toDateString() === new Date().toDateString();
  const time = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  const short = sameDay ? time : d.toLocaleDateString([], { month: 'short', day: 'numeric' }) + ' ' + time;
  return { short, long: d.toLocaleString() };
}

/** "now", "5m", "3h", "2d", then a date: for inbox rows (refreshed every minute). */
export function relativeTime(iso, now = Date.now()) {
  const d = parseTime(iso);
  if (!d) return '';
  const s = Math.max(0, Math.round((now - d.getTime()) / 1000));
  if (s < 45) return 'now';
  if (s < 3600) return Math.max(1, Math.round(s / 60)) + 'm';
  if (s < 86400) return Math.round(s / 3600) + 'h';
  if (s < 7 * 86400) return Math.round(s / 86400) + 'd';
  return d.toLocaleDateString([], { month: 'short', day: 'numeric' });
}

/**
 * An attachment link from the server (`/api/chatbot/attachments/7?sig=…`, relative to the server)
 * as an absolute URL on `base`; anything else (another scheme, another host's `//x`) is refused.
 */
export function serverUrl(base, path) {
  if (typeof path !== 'string' || !path.startsWith('/') || path.startsWith('//')) return null;
  try {
    const url = new URL(path, base);
    return url.origin === new URL(base).origin ? url.href : null;
  } catch {
    return null;
  }
}

/** Safe CSS colour values only (settings come from the server but are edited by people). */
export function safeColor(value) {
  if (typeof value !== 'string') return null;
  const v = value.trim();
  return /^(#[0-9a-f]{3,8}|(rgb|rgba|hsl|hsla)\([\d\s.,%/]+\)|[a-z]{3,20})$/i.test(v) ? v : null;
}
