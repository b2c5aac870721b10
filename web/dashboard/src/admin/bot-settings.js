// admin/bot-settings.js — owns the "Bot" part of a widget's editor: which bot answers (the
// knowledge bot, an OpenAI-compatible model, or an external bot over signed webhooks) and the
// settings each kind reads, as `settings.bot` holds them. Only the chosen kind's fields show; the
// knowledge entries (edited in the Knowledge panel) and any setting this form does not show are
// kept as they were. The server checks the result (unknown fields and bad values are refused).

import { h } from '../../../shared/ui/dom.js';
import { field } from './kit.js';

const KINDS = [
  ['knowledge', 'Knowledge bot (answers from your entries)'],
  ['llm', 'AI model (OpenAI-compatible API)'],
  ['webhook', 'Your own bot (signed webhooks)'],
];

/** The fields each kind shows, beyond the kind itself: [key, label, hint, type]. */
const FIELDS = {
  knowledge: [['threshold', 'Confidence needed to answer', 'From 0 to 1; below it the bot says it is unsure (default 0.5).', 'number']],
  llm: [
    ['base_url', 'API address', 'For example https://api.openai.com/v1 or http://127.0.0.1:11434/v1.', 'url'],
    ['model', 'Model', 'For example gpt-4o-mini or llama3.2.', 'text'],
    ['api_key_env', 'Environment variable holding the API key', 'Keeps the key out of the database, e.g. OPENAI_API_KEY.', 'text'],
    ['system_prompt', 'Instructions', 'What the model is told before every conversation.', 'textarea'],
  ],
  webhook: [
    ['url', 'Webhook address', 'Where Parley posts conversation events, signed.', 'url'],
    ['secret', 'Signing secret', 'Signs each webhook (X-Parley-Signature).', 'text'],
    ['reply_token', 'Reply token', 'What your bot presents to POST /api/bot/conversations/{id}/messages.', 'text'],
  ],
};
const SHARED = [
  ['handoff_message', 'Handoff message', 'Said when the bot hands over to a person. Empty: the default.', 'textarea'],
  ['fallback', 'When unsure', 'Said when the knowledge bot has no answer. Empty: the default.', 'textarea'],
];

function control(type, value) {
  const el =
    type === 'textarea'
      ? h('textarea', { rows: 2 })
      : h('input', { type: type === 'number' ? 'number' : type === 'url' ? 'url' : 'text', spellcheck: 'false', autocomplete: 'off' });
  if (type === 'number') Object.assign(el, { min: '0', max: '1', step: '0.05' });
  el.value = value == null ? '' : String(value);
  return el;
}

/** The editor for `bot` (a widget's `settings.bot`, or nothing): {el, value()}. */
export function createBotSettings(bot) {
  const current = bot && typeof bot === 'object' && !Array.isArray(bot) ? bot : {};
  const kind = h('select', {}, ...KINDS.map(([value, text]) => h('option', { value, text })));
  kind.value = KINDS.some(([k]) => k === current.kind) ? current.kind : 'knowledge';
  const inputs = new Map();
  const groups = {};
  for (const [name, specs] of Object.entries(FIELDS)) {
    groups[name] = h(
      'div',
      { class: 'adm-bot-kind', 'data-kind': name },
      ...specs.map(([key, label, hint, type]) => {
        const input = control(type, current[key]);
        inputs.set(key, { input, type });
        return field(label, input, hint);
      }),
    );
  }
  const shared = SHARED.map(([key, label, hint, type]) => {
    const input = control(type, current[key]);
    inputs.set(key, { input, type });
    return field(label, input, hint);
  });
  const show = () => {
    for (const [name, group] of Object.entries(groups)) group.hidden = name !== kind.value;
  };
  kind.addEventListener('change', show);
  show();
  const el = h('fieldset', { class: 'adm-bot' }, h('legend', { text: 'Bot' }), field('Who answers first', kind), ...Object.values(groups), ...shared);

  return {
    el,
    /** `settings.bot` as it should be saved: the old one with this form's fields applied. */
    value() {
      const next = Object.assign({}, current, { kind: kind.value });
      const visible = new Set([...FIELDS[kind.value].map(([key]) => key), ...SHARED.map(([key]) => key)]);
      for (const [key, { input, type }] of inputs) {
        // A field of another kind keeps its value in the settings (switching back restores it),
        // unless it is empty.
        const text = input.value.trim();
        if (!visible.has(key) && current[key] !== undefined) continue;
        if (!text) delete next[key];
        else next[key] = type === 'number' ? Number(text) : text;
      }
      return next;
    },
  };
}
