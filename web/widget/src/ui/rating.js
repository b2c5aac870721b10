// ui/rating.js — owns the rating prompt at the end of a closed conversation's thread: "How was this
// conversation?", five scores as a radio group (roving tabindex: Tab enters at the chosen or the
// first score, arrows move and choose, Space/Enter choose), an optional comment and Send; then
// "Thanks for your feedback". Its node stays in the list across renders (hidden when not asked
// for), so a half-written comment survives new messages; widget.js decides when it shows and
// sends the rating.

import { h } from '../../../shared/ui/dom.js';
import { icon } from './icons.js';

const SCORES = [1, 2, 3, 4, 5];

export function createRating({ t, maxChars = 1000, onSubmit }) {
  let score = 0;
  let mode = null; // null (hidden), 'prompt' or 'thanks'
  let busy = false;

  const stars = SCORES.map((n) => {
    const label = t('rateScore', { score: n, label: t('rate' + n) });
    return h('button', { type: 'button', role: 'radio', 'aria-checked': 'false', 'aria-label': label, title: label, tabindex: n === 1 ? 0 : -1, onclick: () => choose(n) }, icon('star'));
  });
  const group = h('div', { class: 'stars', role: 'radiogroup', 'aria-labelledby': 'pw-rate-q' }, stars);
  const comment = h('textarea', { rows: 2, maxlength: maxChars });
  const error = h('p', { class: 'rate-err', role: 'alert' });
  const send = h('button', { type: 'button', class: 'rate-send', text: t('rateSend'), onclick: submit });
  const form = h('div', {}, h('p', { id: 'pw-rate-q', class: 'rate-q', text: t('rateQuestion') }), group, h('label', {}, t('rateComment'), comment), error, send);
  const thanks = h('p', { class: 'rate-q', text: t('rateThanks') });
  const el = h('li', { class: 'rate', hidden: true });

  function choose(n, focus) {
    score = n;
    stars.forEach((s, i) => {
      s.setAttribute('aria-checked', String(i + 1 === n));
      s.tabIndex = i + 1 === (n || 1) ? 0 : -1;
      s.classList.toggle('on', i < n);
    });
    if (focus) stars[n - 1].focus();
    error.textContent = '';
  }

  group.addEventListener('keydown', (e) => {
    const step = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 }[e.key];
    const at = stars.indexOf(e.target) + 1 || score || 1;
    const next = step ? ((at - 1 + step + 5) % 5) + 1 : e.key === 'Home' ? 1 : e.key === 'End' ? 5 : 0;
    if (!next) return;
    e.preventDefault();
    choose(next, true);
  });

  function submit() {
    if (busy) return;
    if (!score) {
      error.textContent = t('rateChoose');
      return stars[0].focus();
    }
    busy = true;
    error.textContent = '';
    send.setAttribute('aria-disabled', 'true');
    onSubmit(score, comment.value.trim()).then((ok) => {
      busy = false;
      send.removeAttribute('aria-disabled');
      if (!ok) error.textContent = t('rateFailed');
    });
  }

  return {
    el,
    /** Shows the prompt, the thanks, or nothing; true if this took the focus away from the visitor. */
    set(next) {
      if (next === mode) return false;
      const focused = el.contains(el.getRootNode().activeElement);
      if (next === 'prompt' && !mode) {
        choose(0);
        comment.value = '';
      }
      mode = next;
      el.hidden = !mode;
      el.replaceChildren(...(mode ? [mode === 'prompt' ? form : thanks] : []));
      return focused && mode !== 'prompt';
    },
  };
}
