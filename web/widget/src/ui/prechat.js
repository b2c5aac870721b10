// ui/prechat.js — owns the pre-chat form a widget may ask before a conversation starts (its
// settings.pre_chat): name, email, phone and the site's own questions (text, textarea, email,
// phone, number, select, checkbox), each labelled, required ones marked, and an optional consent
// box. It checks the answers as the server does (the server checks again and its 422 message is
// shown), says what is wrong next to the field (aria-invalid + aria-describedby) and moves the
// focus there; widget.js decides when the form shows and starts the conversation with the
// answers.

import { h } from '../../../shared/ui/dom.js';

const BUILTIN = { name: 'text', email: 'email', phone: 'phone' };
const LABEL_KEYS = { name: 'preChatName', email: 'preChatEmail', phone: 'preChatPhone' };
const EMAIL_RE = /^[^\s@]+@[^\s@]+$/;

/** The form's questions from the widget's settings; null when there is no form to show. */
export function preChatForm(settings) {
  const form = settings?.pre_chat;
  if (!form || form.enabled !== true) return null;
  const fields = (Array.isArray(form.fields) ? form.fields : [])
    .filter((f) => f && typeof f.key === 'string')
    .map((f) => ({
      key: f.key,
      type: BUILTIN[f.key] || (typeof f.type === 'string' ? f.type : 'text'),
      label: typeof f.label === 'string' ? f.label : null,
      placeholder: typeof f.placeholder === 'string' ? f.placeholder : null,
      required: f.required === true,
      options: Array.isArray(f.options) ? f.options.filter((o) => typeof o === 'string') : [],
    }));
  const consent = form.consent?.enabled === true ? { text: String(form.consent.text || '') } : null;
  return fields.length || consent ? { fields, consent } : null;
}

/** What is wrong with one answer, or null. Mirrors the server's checks. */
export function fieldProblem(field, value, t, label) {
  const empty = field.type === 'checkbox' ? value !== true : String(value ?? '').trim() === '';
  if (empty) return field.required ? t('preChatRequired', { label }) : null;
  const text = String(value).trim();
  if (field.type === 'email' && (!EMAIL_RE.test(text) || text.length > 254)) return t('preChatEmailInvalid');
  if (field.type === 'phone' && (!/^[0-9 +().-]+$/.test(text) || text.replace(/\D/g, '').length < 5 || text.length > 30)) return t('preChatPhoneInvalid');
  if (field.type === 'number' && !Number.isFinite(Number(text))) return t('preChatNumberInvalid');
  return null;
}

export function createPreChat({ t, onSubmit }) {
  const el = h('form', { class: 'prechat', novalidate: true, hidden: true, 'aria-labelledby': 'pw-pre-q' });
  let rows = [];
  let consentBox = null;
  let busy = false;
  const error = h('p', { class: 'pre-err', role: 'alert' });

  function labelOf(field) {
    return field.label || t(LABEL_KEYS[field.key] || field.key);
  }

  function build(form, given) {
    rows = form.fields.map((field, i) => {
      const id = 'pw-pre-' + i;
      const label = labelOf(field);
      const shown = field.required || field.type === 'checkbox' ? label : t('preChatOptional', { label });
      const note = h('span', { id: id + '-err', class: 'pre-field-err' });
      let input;
      if (field.type === 'textarea') input = h('textarea', { id, rows: 3, maxlength: 2000 });
      else if (field.type === 'select') {
        input = h('select', { id }, h('option', { value: '', text: t('preChatChoose') }), field.options.map((o) => h('option', { value: o, text: o })));
      } else if (field.type === 'checkbox') input = h('input', { id, type: 'checkbox' });
      else {
        const type = { email: 'email', phone: 'tel', number: 'text' }[field.type] || 'text';
        const autocomplete = { name: 'name', email: 'email', phone: 'tel' }[field.key];
        const inputmode = field.type === 'number' ? 'decimal' : null;
        input = h('input', { id, type, autocomplete, inputmode, maxlength: field.key === 'name' ? 100 : 500, placeholder: field.placeholder });
      }
      if (field.required) input.setAttribute('aria-required', 'true');
      if (given[field.key] && 'value' in input && field.type !== 'checkbox') input.value = given[field.key];
      const row =
        field.type === 'checkbox'
          ? h('div', { class: 'pre-row pre-check' }, input, h('label', { for: id, text: shown }), note)
          : h('div', { class: 'pre-row' }, h('label', { for: id, text: shown }), input, note);
      return { field, input, note, label, row };
    });
    consentBox = form.consent ? h('input', { id: 'pw-pre-consent', type: 'checkbox', 'aria-required': 'true' }) : null;
    const consentNote = h('span', { id: 'pw-pre-consent-err', class: 'pre-field-err' });
    el.replaceChildren(
      h('p', { id: 'pw-pre-q', class: 'pre-q', text: t('preChatIntro') }),
      ...rows.map((r) => r.row),
      consentBox ? h('div', { class: 'pre-row pre-check' }, consentBox, h('label', { for: 'pw-pre-consent', text: form.consent.text }), consentNote) : null,
      error,
      h('button', { type: 'submit', class: 'pre-send', text: t('preChatStart') }),
    );
    if (consentBox) consentBox._note = consentNote;
  }

  function mark(input, note, problem) {
    note.textContent = problem || '';
    if (problem) {
      input.setAttribute('aria-invalid', 'true');
      input.setAttribute('aria-describedby', note.id);
    } else {
      input.removeAttribute('aria-invalid');
      input.removeAttribute('aria-describedby');
    }
  }

  el.addEventListener('submit', (e) => {
    e.preventDefault();
    if (busy) return;
    error.textContent = '';
    let first = null;
    const answers = { attributes: {}, consent: false };
    for (const { field, input, note, label } of rows) {
      const value = field.type === 'checkbox' ? input.checked : input.value;
      const problem = fieldProblem(field, value, t, label);
      mark(input, note, problem);
      if (problem && !first) first = input;
      if (problem) continue;
      if (field.key === 'name') answers.visitor_name = value.trim() || undefined;
      else if (field.key === 'email') answers.visitor_email = value.trim() || undefined;
      else if (field.type === 'checkbox') answers.attributes[field.key] = value;
      else if (String(value).trim()) answers.attributes[field.key] = String(value).trim();
    }
    if (consentBox) {
      const problem = consentBox.checked ? null : t('preChatConsentRequired');
      mark(consentBox, consentBox._note, problem);
      if (problem && !first) first = consentBox;
      answers.consent = consentBox.checked;
    }
    if (first) return first.focus();
    busy = true;
    el.setAttribute('aria-busy', 'true');
    onSubmit(answers).then((problem) => {
      busy = false;
      el.removeAttribute('aria-busy');
      if (problem) error.textContent = typeof problem === 'string' ? problem : t('preChatFailed');
    });
  });

  return {
    el,
    /** Shows the form for `form` (from preChatForm), prefilled with what the page gave. */
    show(form, given = {}) {
      if (el.hidden || !rows.length) build(form, given);
      el.hidden = false;
    },
    hide() {
      el.hidden = true;
    },
    visible: () => !el.hidden,
    /** Puts the focus on the form's first field. */
    focus() {
      (rows[0]?.input || consentBox)?.focus();
    },
  };
}
