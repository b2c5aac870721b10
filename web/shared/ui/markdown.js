// ui/markdown.js — owns showing a bot's Markdown, for the widget and the dashboard alike: a
// safe subset (paragraphs, **bold**, *italic*, `inline code`, fenced code blocks, bulleted and
// numbered lists, [links](https://…) and bare http(s) URLs) parsed into a small tree and built
// as DOM nodes with createElement and text nodes, never innerHTML. Anything outside the subset
// (HTML, headings, images, tables) stays text, exactly as written. A link is made only from an
// absolute http(s) URL (`httpUrl`); `javascript:`, `data:` and relative links show their label as
// plain text. The parser is linear in the length of the text, whatever the text (no regular
// expression that can backtrack over it, no search repeated per character), and bounds how deep
// lists and emphasis nest, so a hostile or huge message costs time in proportion to its size.
//
// `parseMarkdown(text)` is the tree (pure data, no DOM: the unit tests read it);
// `renderMarkdown(text)` the DOM (a DocumentFragment); `markdownText(text)` the words alone, for
// one-line previews.

import { h, httpUrl, trimUrl } from './dom.js';

/** Lists nested deeper than this are read as text. */
const MAX_LIST_DEPTH = 6;
/** Emphasis nested deeper than this stays as its literal `*` and `_`. */
const MAX_INLINE_DEPTH = 16;
/** A link's address is looked for this far at most. */
const MAX_URL = 2048;

// ---- blocks ---------------------------------------------------------------------------------

const BLANK = /^[ \t]*$/;
const FENCE = /^( {0,3})(`{3,}|~{3,})(.*)$/;
const LIST_ITEM = /^( {0,3})([-*+]|\d{1,9}[.)])( +|\t|$)/;

function isBlank(line) {
  return BLANK.test(line);
}

/** A line opening a fenced code block: {indent, fence}; backtick fences take no backtick after. */
function fenceOf(line) {
  const m = FENCE.exec(line);
  if (!m || (m[2][0] === '`' && m[3].includes('`'))) return null;
  return { indent: m[1].length, fence: m[2] };
}

/** A list item's marker: {ordered, bullet, start, content} (where its text begins), or null. */
function itemOf(line) {
  const m = LIST_ITEM.exec(line);
  if (!m) return null;
  const marker = m[2];
  const ordered = /\d/.test(marker[0]);
  const gap = m[3] === '' ? 1 : m[3] === '\t' ? 1 : m[3].length > 4 ? 1 : m[3].length;
  return {
    ordered,
    bullet: ordered ? marker[marker.length - 1] : marker,
    start: ordered ? Number(marker.slice(0, -1)) : 1,
    content: m[1].length + marker.length + gap,
  };
}

/** A list item that may end a paragraph: numbered from 1 ("in 2024. we…" is text), not empty. */
function interrupts(line) {
  const item = itemOf(line);
  return !!item && (!item.ordered || item.start === 1) && !isBlank(line.slice(item.content));
}

function indentOf(line) {
  let n = 0;
  while (n < line.length && line[n] === ' ') n++;
  return n;
}

/** Up to `n` leading spaces removed. */
function dedent(line, n) {
  let i = 0;
  while (i < n && i < line.length && line[i] === ' ') i++;
  return line.slice(i);
}

function parseBlocks(lines, depth) {
  const blocks = [];
  const n = lines.length;
  let i = 0;
  while (i < n) {
    const line = lines[i];
    if (isBlank(line)) {
      i++;
      continue;
    }
    const fence = fenceOf(line);
    if (fence) {
      // Up to a closing fence of the same character, at least as long; else the text's end.
      const body = [];
      i++;
      while (i < n) {
        const close = /^ {0,3}(`{3,}|~{3,})[ \t]*$/.exec(lines[i]);
        if (close && close[1][0] === fence.fence[0] && close[1].length >= fence.fence.length) {
          i++;
          break;
        }
        body.push(dedent(lines[i], fence.indent));
        i++;
      }
      blocks.push({ type: 'code', text: body.join('\n') });
      continue;
    }
    const first = depth < MAX_LIST_DEPTH ? itemOf(line) : null;
    if (first) {
      const list = { type: 'list', ordered: first.ordered, start: first.start, items: [] };
      while (i < n) {
        const item = itemOf(lines[i]);
        if (!item || item.ordered !== first.ordered || item.bullet !== first.bullet) break;
        const own = [lines[i].slice(item.content)];
        i++;
        while (i < n) {
          const next = lines[i];
          if (isBlank(next)) {
            // A blank line stays in the item when what follows is indented under it.
            let j = i + 1;
            while (j < n && isBlank(lines[j])) j++;
            if (j < n && indentOf(lines[j]) >= item.content) {
              for (; i < j; i++) own.push('');
              continue;
            }
            break;
          }
          if (indentOf(next) >= item.content) {
            own.push(next.slice(item.content));
            i++;
            continue;
          }
          if (itemOf(next) || fenceOf(next)) break;
          // A lazy continuation of the item's paragraph.
          if (!isBlank(own[own.length - 1])) {
            own.push(next.trim());
            i++;
            continue;
          }
          break;
        }
        list.items.push(parseBlocks(own, depth + 1));
        // Blank lines between two items of the same list keep it going.
        let j = i;
        while (j < n && isBlank(lines[j])) j++;
        const again = j < n ? itemOf(lines[j]) : null;
        if (j > i && again && again.ordered === first.ordered && again.bullet === first.bullet) i = j;
        else if (j > i) break;
      }
      blocks.push(list);
      continue;
    }
    const para = [line.trim()];
    i++;
    while (i < n && !isBlank(lines[i]) && !fenceOf(lines[i]) && !(depth < MAX_LIST_DEPTH && interrupts(lines[i]))) {
      para.push(lines[i].trim());
      i++;
    }
    blocks.push({ type: 'p', children: parseInline(para.join('\n')) });
  }
  return blocks;
}

// ---- inline ---------------------------------------------------------------------------------

const PUNCTUATION = /[\p{P}\p{S}]/u;
const SPACE = /\s/;
const ESCAPABLE = '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~';
const AUTOLINK = /https?:\/\/[^\s<>"'`]+/iy;
const WORD = /[\p{L}\p{N}]/u;

const isSpace = (c) => c === undefined || SPACE.test(c);
const isPunct = (c) => c !== undefined && PUNCTUATION.test(c);

/** Where each backtick run starts, and the next run of the same length after it. */
function backtickRuns(s) {
  const starts = new Map();
  const runs = [];
  for (let i = 0; i < s.length; ) {
    if (s[i] !== '`') {
      i++;
      continue;
    }
    let j = i;
    while (j < s.length && s[j] === '`') j++;
    starts.set(i, runs.length);
    runs.push({ start: i, length: j - i, next: -1 });
    i = j;
  }
  const lastOfLength = new Map();
  for (let k = runs.length - 1; k >= 0; k--) {
    runs[k].next = lastOfLength.has(runs[k].length) ? lastOfLength.get(runs[k].length) : -1;
    lastOfLength.set(runs[k].length, k);
  }
  return { starts, runs };
}

/** For each index, the next index at or after it holding `ch` (or -1). */
function nextIndexOf(s, ch) {
  const next = new Int32Array(s.length + 1).fill(-1);
  for (let i = s.length - 1; i >= 0; i--) next[i] = s[i] === ch ? i : next[i + 1];
  return next;
}

/** A link's `(address)` starting at `from` (the `(`): {href, end} past the `)`, or null. */
function destination(s, from) {
  let depth = 0;
  const limit = Math.min(s.length, from + 1 + MAX_URL);
  for (let i = from + 1; i < limit; i++) {
    const c = s[i];
    // No spaces, and no brackets: so a scan never runs into the next link's text, and all the
    // scans of a paragraph together read it once.
    if (SPACE.test(c) || c === '[' || c === ']') return null;
    if (c === '\\' && i + 1 < limit && ESCAPABLE.includes(s[i + 1])) {
      i++;
      continue;
    }
    if (c === '(') depth++;
    else if (c === ')') {
      if (depth === 0) return { href: s.slice(from + 1, i), end: i + 1 };
      depth--;
    }
  }
  return null;
}

/** Flat tokens: text, br, code, link, and `*`/`_` runs that may open or close emphasis. */
function tokenize(s) {
  const tokens = [];
  const { starts, runs } = backtickRuns(s);
  const nextOpen = nextIndexOf(s, '[');
  const nextClose = nextIndexOf(s, ']');
  let text = '';
  const flush = () => {
    if (text) tokens.push({ type: 'text', text });
    text = '';
  };
  let i = 0;
  while (i < s.length) {
    const c = s[i];
    if (c === '\\' && i + 1 < s.length && ESCAPABLE.includes(s[i + 1])) {
      text += s[i + 1];
      i += 2;
      continue;
    }
    if (c === '\n') {
      flush();
      tokens.push({ type: 'br' });
      i++;
      continue;
    }
    if (c === '`') {
      const k = starts.get(i);
      const run = k === undefined ? null : runs[k];
      if (run && run.next >= 0) {
        const close = runs[run.next];
        let code = s.slice(i + run.length, close.start).replace(/\n/g, ' ');
        if (code.length >= 2 && code[0] === ' ' && code[code.length - 1] === ' ' && code.trim()) code = code.slice(1, -1);
        flush();
        tokens.push({ type: 'code', text: code });
        i = close.start + close.length;
        continue;
      }
      // No closing run: the backticks are text.
      const len = run ? run.length : 1;
      text += s.slice(i, i + len);
      i += len;
      continue;
    }
    if (c === '[') {
      const close = nextClose[i + 1];
      const open = nextOpen[i + 1];
      if (close >= 0 && (open < 0 || open > close) && s[close + 1] === '(') {
        const dest = destination(s, close + 1);
        if (dest) {
          flush();
          const label = s.slice(i + 1, close);
          const href = httpUrl(dest.href.replace(/\\([!-/:-@[-`{-~])/g, '$1'));
          tokens.push({ type: 'link', href, children: parseInline(label, true) });
          i = dest.end;
          continue;
        }
      }
      text += c;
      i++;
      continue;
    }
    if ((c === 'h' || c === 'H') && !WORD.test(s[i - 1] || ' ')) {
      AUTOLINK.lastIndex = i;
      const m = AUTOLINK.exec(s);
      const raw = m ? trimUrl(m[0], '*') : '';
      const href = raw && httpUrl(raw);
      if (href) {
        flush();
        tokens.push({ type: 'link', href, children: [{ type: 'text', text: raw }] });
        i += raw.length;
        continue;
      }
    }
    if (c === '*' || c === '_') {
      let j = i;
      while (j < s.length && s[j] === c) j++;
      const length = j - i;
      if (length > 2) {
        text += s.slice(i, j);
        i = j;
        continue;
      }
      const before = s[i - 1];
      const after = s[j];
      const left = !isSpace(after) && (!isPunct(after) || isSpace(before) || isPunct(before));
      const right = !isSpace(before) && (!isPunct(before) || isSpace(after) || isPunct(after));
      const opens = c === '*' ? left : left && (!right || isPunct(before));
      const closes = c === '*' ? right : right && (!left || isPunct(after));
      if (opens || closes) {
        flush();
        tokens.push({ type: 'delim', text: s.slice(i, j), key: c + length, opens, closes, match: -1 });
      } else text += s.slice(i, j);
      i = j;
      continue;
    }
    text += c;
    i++;
  }
  flush();
  return tokens;
}

/**
 * Pairs emphasis runs: a closer takes the nearest opener of the same kind; runs left open in
 * between become text. Counting openers per kind keeps a closer that has none from searching:
 * every run is pushed and popped once, so this is linear.
 */
function pairDelimiters(tokens) {
  const stack = [];
  const waiting = {};
  for (let t = 0; t < tokens.length; t++) {
    const d = tokens[t];
    if (d.type !== 'delim') continue;
    if (d.closes && waiting[d.key] > 0) {
      let s = stack.length - 1;
      while (tokens[stack[s]].key !== d.key) s--;
      while (stack.length - 1 > s) waiting[tokens[stack.pop()].key]--;
      const opener = stack.pop();
      waiting[d.key]--;
      tokens[opener].match = t;
      d.match = opener;
      continue;
    }
    if (d.opens) {
      stack.push(t);
      waiting[d.key] = (waiting[d.key] || 0) + 1;
    }
  }
}

function pushText(list, text) {
  const last = list[list.length - 1];
  if (last && last.type === 'text') last.text += text;
  else list.push({ type: 'text', text });
}

function parseInline(s, inLink = false) {
  const tokens = tokenize(s);
  pairDelimiters(tokens);
  const root = { children: [] };
  const open = [root];
  for (let t = 0; t < tokens.length; t++) {
    const token = tokens[t];
    const into = open[open.length - 1].children;
    if (token.type === 'delim') {
      if (token.match > t && open.length <= MAX_INLINE_DEPTH) {
        const node = { type: token.text.length === 2 ? 'strong' : 'em', children: [], close: token.match };
        into.push(node);
        open.push(node);
      } else if (token.match >= 0 && token.match < t && open[open.length - 1].close === t) {
        delete open.pop().close;
      } else {
        // Unpaired, or paired too deep: the run is text, and so is its partner.
        if (token.match > t) tokens[token.match].match = -1;
        pushText(into, token.text);
      }
    } else if (token.type === 'text') pushText(into, token.text);
    else if (token.type === 'link' && (inLink || !token.href)) {
      // No link inside a link, and none to a refused address: the words alone.
      for (const child of token.children) {
        if (child.type === 'text') pushText(into, child.text);
        else into.push(child);
      }
    }
    else into.push(token);
  }
  return root.children;
}

/** The Markdown subset as a tree of blocks (p, code, list) holding inline nodes. */
export function parseMarkdown(text) {
  const lines = String(text ?? '')
    .replace(/\r\n?/g, '\n')
    .split('\n')
    .map((line) => line.replace(/^\t+/, (tabs) => '    '.repeat(tabs.length)));
  return parseBlocks(lines, 0);
}

// ---- DOM ------------------------------------------------------------------------------------

function renderInline(node) {
  switch (node.type) {
    case 'text':
      return document.createTextNode(node.text);
    case 'br':
      return h('br');
    case 'code':
      return h('code', { text: node.text });
    case 'strong':
    case 'em':
      return h(node.type, null, node.children.map(renderInline));
    case 'link': {
      const label = node.children.map((c) => (c.type === 'text' || c.type === 'code' ? c.text : '')).join('');
      // Where the link really goes, when its words say something else.
      const title = label === node.href ? null : node.href;
      return h('a', { href: node.href, target: '_blank', rel: 'noopener noreferrer nofollow', title }, node.children.map(renderInline));
    }
    default:
      return document.createTextNode('');
  }
}

function renderBlock(block) {
  if (block.type === 'code') return h('pre', null, h('code', { text: block.text }));
  if (block.type === 'list') {
    const attrs = block.ordered && block.start !== 1 ? { start: block.start } : null;
    return h(block.ordered ? 'ol' : 'ul', attrs, block.items.map((item) => h('li', null, item.map(renderBlock))));
  }
  return h('p', null, block.children.map(renderInline));
}

/** The Markdown as DOM nodes (a DocumentFragment): elements and text nodes only. */
export function renderMarkdown(text) {
  const frag = document.createDocumentFragment();
  for (const block of parseMarkdown(text)) frag.append(renderBlock(block));
  return frag;
}

function inlineText(nodes) {
  return nodes.map((n) => (n.type === 'br' ? ' ' : n.children ? inlineText(n.children) : n.text || '')).join('');
}

function blocksText(blocks) {
  return blocks
    .map((b) => (b.type === 'code' ? b.text : b.type === 'list' ? b.items.map(blocksText).join(' ') : inlineText(b.children)))
    .join(' ');
}

/** The words of the Markdown without its marks, on one line: for previews. */
export function markdownText(text) {
  return blocksText(parseMarkdown(text)).replace(/\s+/g, ' ').trim();
}
