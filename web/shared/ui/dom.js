// ui/dom.js — owns building DOM safely. Every piece of text from a visitor, agent, bot or the
// server goes in as a text node (textContent); the only markup is our own icons, built with
// createElementNS. Links are made from http(s) URLs found in text, validated with URL(), and
// open in a new tab with rel="noopener noreferrer nofollow"; javascript:, data: and the rest stay
// plain text.

const SVG = 'http://www.w3.org/2000/svg';

/** h('div', {class: 'x', onclick: fn, 'aria-label': '…'}, child, 'text', …) */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat()) {
    if (c == null || c === false) continue;
    el.append(typeof c === 'string' ? document.createTextNode(c) : c);
  }
}

const ICONS = {
  chat: 'M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z',
  close: 'M6 6l12 12M18 6L6 18',
  send: 'M3 20l18-8L3 4v6l12 2-12 2z',
  clip: 'M21 11l-8.5 8.5a5 5 0 0 1-7-7L14 4a3.5 3.5 0 0 1 5 5l-8.5 8.5a2 2 0 0 1-3-3L15 7',
  mic: 'M12 3a3 3 0 0 1 3 3v6a3 3 0 0 1-6 0V6a3 3 0 0 1 3-3zM5 11a7 7 0 0 0 14 0M12 18v3',
  stop: 'M7 7h10v10H7z',
  smile: 'M12 3a9 9 0 1 0 0 18 9 9 0 0 0 0-18zM8.5 14a4 4 0 0 0 7 0M9 9.5h.01M15 9.5h.01',
  file: 'M14 3H6v18h12V7zM14 3v4h4',
};

/** An icon from our own path data (never from user data). */
export function icon(name) {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  const path = document.createElementNS(SVG, 'path');
  path.setAttribute('d', ICONS[name]);
  svg.append(path);
  return svg;
}

const URL_RE = /\bhttps?:\/\/[^\s<>"'`]+/gi;

/** Text with its http(s) URLs as safe links, as a DocumentFragment. */
export function linkify(text) {
  const frag = document.createDocumentFragment();
  let last = 0;
  for (const match of String(text).matchAll(URL_RE)) {
    let raw = match[0];
    // Trailing punctuation belongs to the sentence, not the link ("see https://a.b/c."), but a
    // closing bracket that has its opening one inside the URL stays (Wikipedia-style links).
    while (/[.,;:!?)\]}'"]$/.test(raw)) {
      const last = raw[raw.length - 1];
      const open = { ')': '(', ']': '[', '}': '{' }[last];
      if (open && raw.split(open).length > raw.split(last).length - 1) break;
      raw = raw.slice(0, -1);
    }
    let href = null;
    try {
      const url = new URL(raw);
      if (url.protocol === 'http:' || url.protocol === 'https:') href = url.href;
    } catch {
      href = null;
    }
    if (!href) continue;
    frag.append(document.createTextNode(text.slice(last, match.index)));
    frag.append(h('a', { href, target: '_blank', rel: 'noopener noreferrer nofollow', text: raw }));
    last = match.index + raw.length;
  }
  frag.append(document.createTextNode(text.slice(last)));
  return frag;
}

export function formatTime(iso) {
  const d = iso ? new Date(iso) : null;
  if (!d || Number.isNaN(d.getTime())) return { short: '', long: '' };
  const sameDay = d.toDateString() === new Date().toDateString();
  const short = sameDay
    ? d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
    : d.toLocaleDateString([], { month: 'short', day: 'numeric' }) + ' ' + d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  return { short, long: d.toLocaleString() };
}

/** Safe CSS colour values only (settings come from the server but are edited by people). */
export function safeColor(value) {
  if (typeof value !== 'string') return null;
  const v = value.trim();
  return /^(#[0-9a-f]{3,8}|(rgb|rgba|hsl|hsla)\([\d\s.,%/]+\)|[a-z]{3,20})$/i.test(v) ? v : null;
}
