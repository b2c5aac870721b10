// The built-in bot on the test page (a shop) with the bot worker on: questions a shop's visitor
// asks ("Do you ship abroad?", returns, sizes, opening hours, payment, how to embed the widget)
// get their answers, shown as formatted Markdown (bold, lists, code) built from nodes; an answer
// the bot is unsure of offers a "Talk to a person" button under it (the bot no longer hands over
// unasked), which follows the newest answer, goes with a reply, and, pressed from the keyboard,
// hands the conversation to the team; in French it is "Parler à une personne". Screenshots at
// desktop and phone sizes and the accessibility check.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startParley } from '../../tests/lib/server.mjs';
import { startPages } from '../../tests/lib/pages.mjs';
import { launch, newContext, openPage, widget, screenshot } from '../../tests/lib/browser.mjs';
import { accessibilityProblems } from '../../tests/lib/a11y.mjs';
import { en } from '../src/i18n.js';
import fr from '../src/locales/fr.js';

let parley, pages, browser;

before(async () => {
  parley = await startParley({ env: { PARLEY_BOT_WORKER: 'true' } });
  pages = await startPages(parley);
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await pages?.stop();
  await parley?.stop();
});

const SIZES = [
  ['desktop', { width: 1280, height: 800 }],
  ['phone', { width: 390, height: 844 }],
];

/** The bot's answer containing `text`, once shown. */
async function answer(w, text) {
  await w.waitForMessage(text);
  return w.message(text).last();
}

const offers = (page) => page.locator('#parley-chatbot-widget .msg .offer button');

test("a shop's questions get the shop's answers, formatted", async () => {
  const context = await newContext(browser, { viewport: SIZES[0][1] });
  const page = await openPage(context, pages.page());
  const w = widget(page);
  await w.open();

  await w.send('Do you ship abroad?');
  const abroad = await answer(w, 'we ship worldwide');
  // Bold and a list, as elements, with the words intact.
  assert.deepEqual(await abroad.locator('.md strong').allTextContents(), ['EU', 'the UK, Canada, Australia, Japan', '5-10 business days', '$19']);
  assert.equal(await abroad.locator('.md ul > li').count(), 2);
  assert.ok(!(await abroad.locator('.bubble').textContent()).includes('**'), 'no raw Markdown');
  assert.equal(await offers(page).count(), 0, 'a sure answer offers nobody');

  for (const [question, words] of [
    ['What is your return policy?', '30 days'],
    ['What size should I get?', 'back length'],
    ['When are you open?', 'Monday to Friday'],
    ['Can I pay with PayPal?', 'Apple Pay'],
  ]) {
    await w.send(question);
    await answer(w, words);
  }
  const returns = w.message('30 days').last();
  assert.equal(await returns.locator('.md ol > li').count(), 3, 'the return steps, numbered');

  // How to embed the widget: inline code, and a code block whose HTML stays text.
  await w.send('How do I embed the widget on my website?');
  const embed = await answer(w, 'parley widget create');
  assert.equal(await embed.locator('.md p code').first().textContent(), 'parley widget create --name "My site"');
  const block = embed.locator('.md pre code');
  assert.match(await block.textContent(), /^<script>window\.ChatbotConfig = \{ apiToken: "cbw_…", widgetUrl: "https:\/\/chat\.example\.com" \};<\/script>\n<script src="https:\/\/chat\.example\.com\/chatbot-widget\.js" async><\/script>$/);
  assert.equal(await embed.locator('script').count(), 0, 'shown, never run');
  assert.deepEqual(page.errors, []);

  for (const [size, viewport] of SIZES) {
    await page.setViewportSize(viewport);
    await embed.scrollIntoViewIfNeeded();
    await screenshot(page, 'bot-markdown-' + size);
    assert.deepEqual(await accessibilityProblems(page), [], 'formatted answers at ' + size + ' size');
  }
  await context.close();
});

test('an unsure answer offers a person; the visitor decides, from the keyboard too', async () => {
  const context = await newContext(browser, { viewport: SIZES[0][1] });
  const page = await openPage(context, pages.page());
  const w = widget(page);
  await w.open();

  await w.send('zebra quantum flux');
  await answer(w, "I'm not sure I understood");
  const offer = offers(page);
  await offer.waitFor();
  assert.equal(await offer.textContent(), en.talkToPerson);
  // Unsure again: still the bot's, still offering (under the newest answer only).
  await w.send('purple elephant modem');
  await page.waitForFunction(() => window.ChatbotWidget.state.messages.filter((m) => m.offers_human).length === 2);
  await page.waitForFunction(() => document.querySelector('#parley-chatbot-widget').shadowRoot.querySelectorAll('.offer').length === 1);
  const lastId = await page.evaluate(() => window.ChatbotWidget.state.messages.at(-1).id);
  assert.equal(await page.locator(`#parley-chatbot-widget .msg[data-id="${lastId}"] .offer button`).count(), 1);
  assert.equal(await page.evaluate(() => window.ChatbotWidget.state.conversation?.status), 'bot', 'nobody was handed over');

  // A sure answer takes the offer away.
  await w.send('Do you ship abroad?');
  await answer(w, 'we ship worldwide');
  await page.waitForFunction(() => !document.querySelector('#parley-chatbot-widget').shadowRoot.querySelector('.offer'));

  await w.send('asdf qwerty');
  await page.waitForFunction(() => window.ChatbotWidget.state.messages.filter((m) => m.offers_human).length === 3);
  await offer.waitFor();
  for (const [size, viewport] of SIZES) {
    await page.setViewportSize(viewport);
    await offer.scrollIntoViewIfNeeded();
    await screenshot(page, 'talk-to-a-person-' + size);
    assert.deepEqual(await accessibilityProblems(page), [], 'the offer at ' + size + ' size');
  }
  await page.setViewportSize(SIZES[0][1]);

  // From the keyboard: Shift+Tab from the message box reaches the button (after the reactions).
  await w.input.focus();
  let reached = false;
  for (let i = 0; i < 6 && !reached; i++) {
    await page.keyboard.press('Shift+Tab');
    reached = await page.evaluate(() => document.querySelector('#parley-chatbot-widget').shadowRoot.activeElement?.classList.contains('talk'));
  }
  assert.ok(reached, 'the button is reachable with the keyboard');
  await page.keyboard.press('Enter');
  // The visitor's words, the team's line, and the conversation is the team's.
  await page.waitForFunction(() => window.ChatbotWidget.state.conversation?.status === 'human', null, { timeout: 15000 });
  const asked = page.locator('#parley-chatbot-widget .msg.visitor .bubble', { hasText: en.talkToPerson });
  await asked.waitFor();
  await page.locator('#parley-chatbot-widget .msg.system', { hasText: 'Let me get a human for you' }).waitFor();
  assert.equal(await page.locator('#parley-chatbot-widget .offer').count(), 0);
  const state = await w.state();
  assert.equal(state.messages.filter((m) => m.sender_type === 'visitor').at(-1).text, '/human', 'what every bot understands');
  // Focus went on to the message box, not lost with the button.
  assert.equal(await page.evaluate(() => document.querySelector('#parley-chatbot-widget').shadowRoot.activeElement?.localName), 'textarea');
  await screenshot(page, 'talk-to-a-person-handed-over');
  assert.deepEqual(page.errors, []);
  await context.close();
});

test('the offer speaks the visitor\'s language', async () => {
  const context = await newContext(browser, { viewport: SIZES[1][1], locale: 'fr-FR' });
  const page = await openPage(context, pages.page());
  const w = widget(page);
  await w.open();
  await w.send('zèbre quantique');
  await answer(w, 'Je ne suis pas sûr');
  await offers(page).waitFor();
  assert.equal(await offers(page).textContent(), fr.talkToPerson);
  await offers(page).click();
  await page.locator('#parley-chatbot-widget .msg.visitor .bubble', { hasText: fr.talkToPerson }).waitFor();
  await page.locator('#parley-chatbot-widget .msg.system', { hasText: 'Je vous mets en relation' }).waitFor();
  await screenshot(page, 'talk-to-a-person-fr-phone');
  assert.deepEqual(await accessibilityProblems(page), []);
  await context.close();
});
