// Languages: the widget speaks the page's ChatbotConfig.locale, else the widget's setting
// `locale`, else the browser's language, else English; Arabic lays the whole widget out right to
// left (dir="rtl" and lang on its root inside the shadow), with Arabic labels, times in Arabic,
// the visitor's bubbles on the other side, screenshots at desktop and phone sizes and the
// accessibility check. Also: every language has exactly English's keys and placeholders.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startParley } from '../../tests/lib/server.mjs';
import { startPages } from '../../tests/lib/pages.mjs';
import { launch, newContext, openPage, widget, screenshot } from '../../tests/lib/browser.mjs';
import { accessibilityProblems } from '../../tests/lib/a11y.mjs';
import { en, LOCALES, pickLocale } from '../src/i18n.js';

let parley, pages, browser;

before(async () => {
  parley = await startParley();
  pages = await startPages(parley);
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await pages?.stop();
  await parley?.stop();
});

/** The widget's root inside the shadow: its dir and lang, and the launcher's and input's labels. */
const looks = (page) =>
  page.evaluate(() => {
    const root = document.querySelector('#parley-chatbot-widget').shadowRoot;
    const frame = root.querySelector('.frame');
    return {
      dir: frame.getAttribute('dir'),
      lang: frame.getAttribute('lang'),
      direction: getComputedStyle(root.querySelector('.panel')).direction,
      launcher: root.querySelector('.launcher').getAttribute('aria-label'),
      placeholder: root.querySelector('.composer textarea').getAttribute('placeholder'),
    };
  });

async function visit(contextOptions, cfg) {
  const context = await newContext(browser, contextOptions);
  const page = await openPage(context, pages.page(cfg));
  await widget(page).ready();
  // The whole widget (the panel's words too), not only the loader's launcher.
  await page.evaluate(() => window.ChatbotWidget.load());
  return { context, page };
}

test('every language has exactly the keys and placeholders of English', () => {
  const holes = (text) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
  assert.deepEqual(Object.keys(LOCALES).sort(), ['ar', 'de', 'en', 'es', 'fr', 'pt']);
  for (const [code, table] of Object.entries(LOCALES)) {
    assert.deepEqual(Object.keys(table).sort(), Object.keys(en).sort(), code + ' has the keys of en');
    for (const key of Object.keys(en)) {
      assert.equal(typeof table[key], 'string', `${code}.${key}`);
      assert.ok(table[key].trim(), `${code}.${key} is not empty`);
      assert.deepEqual(holes(table[key]), holes(en[key]), `${code}.${key} keeps the placeholders`);
    }
  }
  assert.equal(pickLocale('pt-BR', 'de', ['fr-FR']), 'pt');
  assert.equal(pickLocale(undefined, 'de', ['fr-FR']), 'de');
  assert.equal(pickLocale(undefined, undefined, ['xx', 'fr-FR']), 'fr');
  assert.equal(pickLocale('xx', 'yy', ['zz']), 'en');
});

test('Arabic: right to left, Arabic labels and times, screenshots and the accessibility check', async () => {
  const { context, page } = await visit({ viewport: { width: 1280, height: 800 } }, { locale: 'ar' });
  const w = widget(page);
  assert.deepEqual(await looks(page), {
    dir: 'rtl',
    lang: 'ar',
    direction: 'rtl',
    launcher: LOCALES.ar.openChat,
    placeholder: LOCALES.ar.inputPlaceholder,
  });
  await w.open();
  assert.equal(await w.launcher.getAttribute('aria-label'), LOCALES.ar.closeChat);
  assert.equal(await w.input.getAttribute('aria-label'), LOCALES.ar.inputLabel);
  await w.send('مرحبا، أحتاج إلى مساعدة');
  await w.waitForMessage('مرحبا');
  // The visitor's bubble sits on the left (the end side in right to left); its time is in Arabic.
  const placed = await w.message('مرحبا').first().evaluate((el) => {
    const list = el.closest('.list').getBoundingClientRect();
    const r = el.getBoundingClientRect();
    const time = el.querySelector('time');
    return {
      fromLeft: r.left - list.left,
      fromRight: list.right - r.right,
      time: time.textContent,
      expected: new Intl.DateTimeFormat('ar', { hour: '2-digit', minute: '2-digit' }).format(new Date(time.getAttribute('datetime'))),
      who: el.querySelector('.meta b').textContent,
    };
  });
  assert.ok(placed.fromLeft < placed.fromRight, 'the visitor bubble is on the left in RTL: ' + JSON.stringify(placed));
  assert.equal(placed.time, placed.expected, 'the time in Arabic');
  assert.equal(placed.who, LOCALES.ar.you);
  for (const [size, viewport] of [['desktop', { width: 1280, height: 800 }], ['phone', { width: 390, height: 844 }]]) {
    await page.setViewportSize(viewport);
    await page.waitForTimeout(100);
    await screenshot(page, 'arabic-rtl-' + size);
    assert.deepEqual(await accessibilityProblems(page), [], 'Arabic at ' + size + ' size');
  }
  assert.deepEqual(page.errors, []);
  await context.close();
});

test('a French browser with no configured language gets French', async () => {
  const { context, page } = await visit({ locale: 'fr-FR' });
  assert.deepEqual(await looks(page), {
    dir: 'ltr',
    lang: 'fr',
    direction: 'ltr',
    launcher: LOCALES.fr.openChat,
    placeholder: LOCALES.fr.inputPlaceholder,
  });
  await context.close();
});

test("the widget's setting wins over the browser's language; ChatbotConfig.locale wins over both", async () => {
  const [demo] = JSON.parse(await parley.cli(['widget', 'list', '--json']));
  const original = demo.settings && typeof demo.settings === 'object' ? demo.settings : {};
  await parley.cli(['widget', 'configure', String(demo.id), '--settings', JSON.stringify({ ...original, locale: 'de' })]);
  try {
    const german = await visit({ locale: 'fr-FR' });
    const seen = await looks(german.page);
    assert.equal(seen.lang, 'de');
    assert.equal(seen.launcher, LOCALES.de.openChat);
    assert.equal(seen.placeholder, LOCALES.de.inputPlaceholder);
    await german.context.close();

    const portuguese = await visit({ locale: 'fr-FR' }, { locale: 'pt-BR' });
    const chosen = await looks(portuguese.page);
    assert.equal(chosen.lang, 'pt');
    assert.equal(chosen.launcher, LOCALES.pt.openChat);
    assert.equal(chosen.placeholder, LOCALES.pt.inputPlaceholder);
    await portuguese.context.close();
  } finally {
    await parley.cli(['widget', 'configure', String(demo.id), '--settings', JSON.stringify(original)]);
  }
});
