// The Markdown subset bots write (web/shared/ui/markdown.js), read as a tree without a browser:
// paragraphs, bold, italic, inline code, code blocks, lists and http(s) links; what is outside
// the subset (HTML, other link schemes) stays text; and the time it takes grows in proportion
// to the text, whatever the text (inputs built to make a naive parser quadratic). How the widget
// and the dashboard show it in Chromium is in xss.test.mjs, bot-replies.test.mjs and the
// dashboard's inbox-previews.test.mjs.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { markdownText, parseMarkdown } from '../../shared/ui/markdown.js';
import { trimUrl } from '../../shared/ui/dom.js';

const p = (...children) => ({ type: 'p', children });
const t = (text) => ({ type: 'text', text });
const strong = (...children) => ({ type: 'strong', children });
const em = (...children) => ({ type: 'em', children });
const code = (text) => ({ type: 'code', text });
const link = (href, ...children) => ({ type: 'link', href, children });
const br = { type: 'br' };

test('paragraphs, emphasis, code and line breaks', () => {
  assert.deepEqual(parseMarkdown('Hello **world** and *you*, __too__ and _this_.\nNext line\n\nSecond paragraph'), [
    p(t('Hello '), strong(t('world')), t(' and '), em(t('you')), t(', '), strong(t('too')), t(' and '), em(t('this')), t('.'), br, t('Next line')),
    p(t('Second paragraph')),
  ]);
  assert.deepEqual(parseMarkdown('Run `parley serve` now, ``a ` tick``.'), [p(t('Run '), code('parley serve'), t(' now, '), code('a ` tick'), t('.'))]);
  assert.deepEqual(parseMarkdown('**bold *and italic* inside**'), [p(strong(t('bold '), em(t('and italic')), t(' inside')))]);
  // Words with underscores and lone stars stay as written.
  assert.deepEqual(parseMarkdown('snake_case_name, 2 * 3 and a * b'), [p(t('snake_case_name, 2 * 3 and a * b'))]);
  assert.deepEqual(parseMarkdown('\\*not italic\\* and `unclosed'), [p(t('*not italic* and `unclosed'))]);
  assert.deepEqual(parseMarkdown('**never closed and *this* one'), [p(t('**never closed and '), em(t('this')), t(' one'))]);
});

test('fenced code blocks keep their text exactly, HTML included', () => {
  const text = 'Add this:\n\n```html\n<script src="x.js"></script>\n  **not bold**\n```\nDone.';
  assert.deepEqual(parseMarkdown(text), [p(t('Add this:')), { type: 'code', text: '<script src="x.js"></script>\n  **not bold**' }, p(t('Done.'))]);
  // An unclosed fence runs to the end; a tilde fence is closed only by tildes.
  assert.deepEqual(parseMarkdown('~~~\na\n```\nb'), [{ type: 'code', text: 'a\n```\nb' }]);
});

test('bulleted and numbered lists, nested, with blank lines between items', () => {
  const list = (ordered, start, ...items) => ({ type: 'list', ordered, start, items });
  assert.deepEqual(parseMarkdown('- one\n- two **b**\n  - nested\n\n- three\n\n3. c\n4. d'), [
    list(false, 1, [p(t('one'))], [p(t('two '), strong(t('b'))), list(false, 1, [p(t('nested'))])], [p(t('three'))]),
    list(true, 3, [p(t('c'))], [p(t('d'))]),
  ]);
  // A number that merely starts a line of a paragraph is not a list.
  assert.deepEqual(parseMarkdown('We opened in\n2024. Since then'), [p(t('We opened in'), br, t('2024. Since then'))]);
});

test('links: only absolute http(s) addresses; other schemes keep their words as text', () => {
  assert.deepEqual(parseMarkdown('[Docs](https://example.com/a_(b)) and https://example.com/x.'), [
    p(link('https://example.com/a_(b)', t('Docs')), t(' and '), link('https://example.com/x', t('https://example.com/x')), t('.')),
  ]);
  for (const href of ['javascript:alert(1)', 'JaVaScRiPt:alert(1)', 'data:text/html,<script>alert(1)</script>', 'vbscript:x', '/relative', '//evil.example', 'mailto:a@b.c']) {
    assert.deepEqual(parseMarkdown('[click me](' + href + ')'), [p(t('click me'))], href);
  }
  // A label with emphasis keeps it; a link never holds another link.
  assert.deepEqual(parseMarkdown('[**see** https://a.example](https://b.example)'), [p(link('https://b.example/', strong(t('see')), t(' https://a.example')))]);
  // HTML is never markup: it is text, wherever it is.
  assert.deepEqual(parseMarkdown('<a href="javascript:x">hi</a> `<img src=x onerror=alert(1)>`'), [p(t('<a href="javascript:x">hi</a> '), code('<img src=x onerror=alert(1)>'))]);
  assert.deepEqual(parseMarkdown('**https://example.com/a**'), [p(strong(link('https://example.com/a', t('https://example.com/a'))))]);
});

test('markdownText gives the words alone, for one-line previews', () => {
  assert.equal(markdownText('**Free** shipping over $75:\n\n- `express` 1-2 days\n- [track it](https://x.example)\n\n```\ncode\n```'), 'Free shipping over $75: express 1-2 days track it code');
});

test('trailing punctuation leaves a bare URL, a closing bracket opened inside stays', () => {
  assert.equal(trimUrl('https://a.example/b.'), 'https://a.example/b');
  assert.equal(trimUrl('https://a.example/wiki/X_(y))'), 'https://a.example/wiki/X_(y)');
  assert.equal(trimUrl('https://a.example/**', '*'), 'https://a.example/');
});

/** Milliseconds to parse `make(n)` (and take its words), the best of two. */
function timed(make, n) {
  const text = make(n);
  let best = Infinity;
  for (let i = 0; i < 2; i++) {
    const started = performance.now();
    parseMarkdown(text);
    markdownText(text);
    best = Math.min(best, performance.now() - started);
  }
  return best;
}

test('huge and hostile inputs take time in proportion to their size', () => {
  const hostile = {
    'unclosed emphasis': (n) => 'x* '.repeat(n) + '_y '.repeat(n),
    'alternating emphasis': (n) => '*_'.repeat(n) + 'x' + '_*'.repeat(n),
    'open brackets': (n) => '['.repeat(n),
    'unfinished links': (n) => '[a]('.repeat(n),
    'long link addresses': (n) => ('[a](https://x.example/' + '('.repeat(50) + ' ').repeat(n / 50),
    backticks: (n) => '`a``'.repeat(n),
    'nested lists': (n) => '- '.repeat(n) + 'x',
    'indented lines': (n) => '- a\n'.repeat(n / 2) + '  b\n\n'.repeat(n / 2),
    'trailing brackets': (n) => 'https://x.example/' + ')'.repeat(n),
    'many lines': (n) => 'a\n'.repeat(n),
    'fences': (n) => '```\n'.repeat(n),
  };
  for (const [name, make] of Object.entries(hostile)) {
    const small = timed(make, 5000);
    const large = timed(make, 50000);
    // Ten times the text: linear is about ten times the time, quadratic a hundred. Slack for a
    // busy machine, and a floor for timings too small to compare.
    assert.ok(large < Math.max(small, 5) * 30, `${name}: ${small.toFixed(1)} ms for n = 5k, ${large.toFixed(1)} ms for 50k`);
    assert.ok(large < 2000, `${name}: ${large.toFixed(1)} ms for n = 50k`);
  }
});
