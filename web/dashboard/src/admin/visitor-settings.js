// admin/visitor-settings.js — owns the "Visitors" part of a widget's editor: whether only
// visitors the site signed in may chat (`settings.identity_required`) and the pre-chat form
// (`settings.pre_chat`): which questions (name, email, phone or the site's own, each with a
// label, a type, required or not, a select's choices), and an optional consent box with its
// text. Rows are added, removed and moved with buttons (no dragging), so it works from the
// keyboard. The server checks the result; what this form does not show is kept.

import { h } from '../../../shared/ui/dom.js';
import { field, lines, uid } from './kit.js';

const TYPES = [
  ['text', 'Text'],
  ['textarea', 'Several lines'],
  ['email', 'Email'],
  ['phone', 'Phone'],
  ['number', 'Number'],
  ['select', 'Choice'],
  ['checkbox', 'Tick box'],
];
const BUILTIN = { name: 'text', email: 'email', phone: 'phone' };

/** The editor for a widget's settings' visitor part: {el, apply(next), problem()}. */
export function createVisitorSettings(settings) {
  const current = settings.pre_chat && typeof settings.pre_chat === 'object' ? settings.pre_chat : {};
  const required = h('input', { type: 'checkbox' });
  required.checked = settings.identity_required === true;
  const enabled = h('input', { type: 'checkbox' });
  enabled.checked = current.enabled === true;
  const consent = current.consent && typeof current.consent === 'object' ? current.consent : {};
  const consentOn = h('input', { type: 'checkbox' });
  consentOn.checked = consent.enabled === true;
  const consentText = h('textarea', { rows: 2, maxlength: 500, placeholder: 'I agree to the privacy policy' });
  consentText.value = typeof consent.text === 'string' ? consent.text : '';
  const rows = h('ol', { class: 'adm-prechat-fields', 'aria-label': 'Questions' });
  const add = h('button', { type: 'button', class: 'ghost', text: 'Add a question' });

  function row(spec = {}) {
    const key = h('input', { type: 'text', maxlength: 40, spellcheck: 'false', autocomplete: 'off', placeholder: 'order_number' });
    key.value = typeof spec.key === 'string' ? spec.key : '';
    const label = h('input', { type: 'text', maxlength: 100, placeholder: 'Order number' });
    label.value = typeof spec.label === 'string' ? spec.label : '';
    const type = h('select', {}, ...TYPES.map(([value, text]) => h('option', { value, text })));
    type.value = BUILTIN[spec.key] || (TYPES.some(([t]) => t === spec.type) ? spec.type : 'text');
    const must = h('input', { type: 'checkbox' });
    must.checked = spec.required === true;
    const options = h('textarea', { rows: 2, placeholder: 'One choice per line' });
    options.value = Array.isArray(spec.options) ? spec.options.join('\n') : '';
    const optionsField = field('Choices', options, 'One per line.');
    const showOptions = () => (optionsField.hidden = type.value !== 'select');
    // name, email and phone have their own type: the select follows the key.
    const followKey = () => {
      const builtin = BUILTIN[key.value.trim()];
      if (builtin) type.value = builtin;
      type.disabled = !!builtin;
      showOptions();
    };
    type.addEventListener('change', showOptions);
    key.addEventListener('input', followKey);
    followKey();
    const id = uid('q');
    const li = h('li', { class: 'adm-prechat-field' });
    const up = h('button', { type: 'button', class: 'ghost', text: '↑', 'aria-label': 'Move up', onclick: () => {
      li.previousElementSibling?.before(li);
      up.focus();
    } });
    const remove = h('button', { type: 'button', class: 'ghost danger', text: 'Remove', onclick: () => {
      const next = li.nextElementSibling || li.previousElementSibling;
      li.remove();
      (next?.querySelector('input') || add).focus();
    } });
    li.append(
      h('div', { class: 'adm-prechat-grid' },
        field('Key', key, 'name, email, phone, or your own (lowercase letters, digits, _).'),
        field('Label', label, 'Empty for name, email and phone: the widget\'s own words.'),
        field('Type', type),
        h('div', { class: 'adm-field adm-check' }, must, h('label', { for: (must.id = id + '-req'), text: 'Required' })),
      ),
      optionsField,
      h('div', { class: 'adm-row' }, up, remove),
    );
    li._read = () => {
      const k = key.value.trim();
      const out = { key: k };
      if (label.value.trim()) out.label = label.value.trim();
      if (!BUILTIN[k]) out.type = type.value;
      if (must.checked) out.required = true;
      if (type.value === 'select') out.options = lines(options.value);
      return out;
    };
    li._key = key;
    return li;
  }

  for (const spec of Array.isArray(current.fields) ? current.fields : []) rows.append(row(spec));
  add.addEventListener('click', () => {
    const li = row();
    rows.append(li);
    li._key.focus();
  });

  const check = (input, text, hint) =>
    h('div', { class: 'adm-field adm-check' }, input, h('label', { for: (input.id = input.id || uid('c')), text }), hint ? h('p', { class: 'hint', text: hint }) : null);
  const el = h(
    'fieldset',
    { class: 'adm-visitors' },
    h('legend', { text: 'Visitors' }),
    check(required, 'Only signed-in visitors', 'Your site signs who its visitor is (ChatbotConfig.userToken); anonymous visitors cannot chat.'),
    check(enabled, 'Ask a pre-chat form', 'Shown before the first message; skipped for signed-in visitors whose token names them.'),
    rows,
    h('div', { class: 'adm-row' }, add),
    check(consentOn, 'Ask for consent', 'A box the visitor must tick; the time is recorded.'),
    field('Consent text', consentText),
  );

  return {
    el,
    /** Writes this part into `next` (the settings about to be saved). */
    apply(next) {
      if (required.checked) next.identity_required = true;
      else delete next.identity_required;
      const fields = [...rows.children].map((li) => li._read()).filter((f) => f.key);
      const form = Object.assign({}, current, { enabled: enabled.checked, fields });
      if (consentOn.checked || consentText.value.trim()) {
        form.consent = { enabled: consentOn.checked };
        if (consentText.value.trim()) form.consent.text = consentText.value.trim();
      } else delete form.consent;
      if (!form.enabled && !fields.length && !form.consent) delete next.pre_chat;
      else next.pre_chat = form;
    },
    /** What to fix before saving, with the control to focus; null when nothing. */
    problem() {
      if (consentOn.checked && !consentText.value.trim()) return ['Consent text: say what the visitor agrees to.', consentText];
      return null;
    },
  };
}
