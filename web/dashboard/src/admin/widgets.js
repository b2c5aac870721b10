// admin/widgets.js — owns the Admin area's "Widgets" panel and the list of widgets the other
// panels read (the team's widget choices, the knowledge's widget picker). Create a widget (name,
// allowed origins one per line): its token and the snippet to paste are shown once, with Copy
// buttons. Per widget: edit the name (the team's), origins, the common settings (the display
// name visitors see: `display_name`, none for the site's name; greeting, primary colour,
// position, the widget's language: `locale`, none for the visitor's browser; the retention in
// days: `retention_days`, none to keep conversations), the visitors (admin/visitor-settings.js),
// the business hours (admin/hours-settings.js), automatic assignment
// (admin/assignment-settings.js) and the bot (admin/bot-settings.js) — PATCH
// replaces the settings whole, so the widget's current settings are sent back
// changed, keeping `bot` and whatever else they hold —, a new token (after a confirm; the new
// snippet shown once) and revoking (after a confirm).

import { h } from '../../../shared/ui/dom.js';
import { AA, contrast, readableOn } from '../../../shared/ui/contrast.js';
import { createAssignmentSettings } from './assignment-settings.js';
import { createBotSettings } from './bot-settings.js';
import { createHoursSettings } from './hours-settings.js';
import { createVisitorSettings } from './visitor-settings.js';
import { busyButton, copyBox, errorLine, field, lines, reason, replaceItems, statusLine } from './kit.js';

// The widget's languages (settings.locale), each named in itself; '' leaves it to the browser.
const LANGUAGES = [
  ['', "Automatic (visitor's browser)"],
  ['en', 'English', 'en'],
  ['es', 'Español', 'es'],
  ['fr', 'Français', 'fr'],
  ['de', 'Deutsch', 'de'],
  ['pt', 'Português', 'pt'],
  ['ar', 'العربية', 'ar'],
];

/** The widgets as last read, shared by the panels. */
export function createWidgetList(admin) {
  let widgets = null;
  let siteName = null;
  const listeners = new Set();
  return {
    list: () => widgets || [],
    loaded: () => widgets != null,
    /** The site's name (PARLEY_APP_NAME): what visitors see a widget without a display name called. */
    siteName: () => siteName,
    async refresh() {
      const res = await admin.widgets();
      widgets = Array.isArray(res?.widgets) ? res.widgets : [];
      siteName = typeof res?.site_name === 'string' && res.site_name.trim() ? res.site_name.trim() : null;
      for (const fn of listeners) fn(widgets);
      return widgets;
    },
    onChange: (fn) => listeners.add(fn),
  };
}

/** The token and snippet, shown once. */
function secret(res, what) {
  return h(
    'div',
    { class: 'adm-secret' },
    h('p', { class: 'notice', text: what + ' Copy the token and the snippet now: they are shown only now and cannot be read again.' }),
    copyBox('Widget token', res.token || '', { name: 'widget token' }),
    copyBox('Snippet to paste before </body>', res.snippet || '', { multiline: true, name: 'snippet' }),
    res.identity_secret ? identitySecret(res.identity_secret) : null,
  );
}

/** The identity secret, shown once, with how a site's backend signs a user token with it. */
function identitySecret(value) {
  return h(
    'div',
    { class: 'adm-secret-part' },
    copyBox('Identity secret (keep it on your server)', value, { name: 'identity secret' }),
    h('p', { class: 'hint', text: 'Your backend signs each page view\'s user token with it (HS256: sub, exp at most 24 hours ahead, name and email optional) and the page passes it as ChatbotConfig.userToken. See the widget README.' }),
  );
}

export function createWidgetsPanel({ admin, widgets, confirm = (text) => window.confirm(text) }) {
  const error = errorLine();
  const status = statusLine();
  const list = h('ul', { class: 'adm-list', 'aria-label': 'Widgets' });

  const name = h('input', { type: 'text', maxlength: 100, autocomplete: 'off', required: true });
  const origins = h('textarea', { rows: 3, spellcheck: 'false', placeholder: 'https://shop.example' });
  const createError = errorLine();
  const createResult = h('div', { class: 'adm-result' });
  const form = h(
    'form',
    { class: 'adm-form', 'aria-label': 'Create a widget', novalidate: true },
    h('h3', { text: 'Create a widget' }),
    field('Widget name', name),
    field('Allowed origins', origins, 'One per line, such as https://shop.example. None: any site may embed it.'),
    createError.el,
    h('div', { class: 'adm-row' }, h('button', { type: 'submit', class: 'primary', text: 'Create widget' })),
    createResult,
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    createError.set('');
    if (!name.value.trim()) {
      createError.set('Give the widget a name.');
      return name.focus();
    }
    try {
      const res = await admin.createWidget({ name: name.value.trim(), allowed_origins: lines(origins.value) });
      createResult.replaceChildren(secret(res, 'Widget "' + (res.widget?.name || name.value.trim()) + '" is created.'));
      name.value = '';
      origins.value = '';
      await load();
      createResult.querySelector('.adm-copy-value')?.focus();
    } catch (err) {
      createError.set('Could not create the widget: ' + reason(err));
    }
  });

  const el = h('section', { class: 'adm-panel', 'aria-labelledby': 'pd-adm-widgets-title' }, h('h2', { id: 'pd-adm-widgets-title', text: 'Widgets' }), status.el, error.el, list, form);

  function editor(w, item, rowError) {
    const settings = w.settings && typeof w.settings === 'object' ? w.settings : {};
    const colors = settings.colors && typeof settings.colors === 'object' ? settings.colors : {};
    const n = h('input', { type: 'text', maxlength: 100 });
    n.value = w.name || '';
    // What visitors see (settings.display_name); the name above is the team's own.
    const displayName = h('input', { type: 'text', maxlength: 100, autocomplete: 'off', placeholder: widgets.siteName() || 'Chat' });
    displayName.value = typeof settings.display_name === 'string' ? settings.display_name : '';
    const o = h('textarea', { rows: 3, spellcheck: 'false' });
    o.value = (w.allowed_origins || []).join('\n');
    const greeting = h('textarea', { rows: 2 });
    greeting.value = typeof settings.greeting === 'string' ? settings.greeting : '';
    const color = h('input', { type: 'text', placeholder: '#2563eb', spellcheck: 'false', autocomplete: 'off' });
    color.value = typeof colors.primary === 'string' ? colors.primary : '';
    // How text reads on the brand colour: what visitors will see, and a warning below WCAG AA.
    const contrastNote = h('p', { class: 'hint', role: 'status' });
    const judgeContrast = () => {
      const primary = color.value.trim();
      const chosen = typeof colors.text_on_primary === 'string' ? colors.text_on_primary : null;
      const text = chosen || (primary ? readableOn(primary) : null);
      const ratio = primary && text ? contrast(primary, text) : null;
      if (ratio == null) return (contrastNote.textContent = '');
      const said = (chosen ? 'Text on it: ' + chosen : 'Visitors see ' + (text === '#000000' ? 'black' : 'white') + ' text on it') + ' (contrast ' + ratio.toFixed(1) + ':1).';
      contrastNote.textContent = ratio < AA ? said + ' Below WCAG AA (4.5:1): some visitors will not be able to read it.' : said;
      contrastNote.classList.toggle('error', ratio < AA);
    };
    color.addEventListener('input', judgeContrast);
    judgeContrast();
    const position = h('select', {}, h('option', { value: 'right', text: 'Right' }), h('option', { value: 'left', text: 'Left' }));
    position.value = settings.position === 'left' ? 'left' : 'right';
    const language = h(
      'select',
      {},
      ...LANGUAGES.map(([value, text, lang]) => h('option', lang ? { value, text, lang } : { value, text })),
    );
    language.value = LANGUAGES.some(([value]) => value && value === settings.locale) ? settings.locale : '';
    // The proactive greeting (settings.proactive): a bubble shown to visitors after a delay.
    const pro = settings.proactive && typeof settings.proactive === 'object' ? settings.proactive : {};
    const proMessage = h('textarea', { rows: 2 });
    proMessage.value = typeof pro.message === 'string' ? pro.message : '';
    const proDelay = h('input', { type: 'number', min: 0, step: 1, placeholder: '10', inputmode: 'numeric' });
    proDelay.value = Number.isFinite(Number(pro.delay_secs)) && pro.delay_secs !== undefined ? String(pro.delay_secs) : '';
    const proPattern = h('input', { type: 'text', placeholder: '/pricing/*', spellcheck: 'false', autocomplete: 'off' });
    proPattern.value = typeof pro.url_pattern === 'string' ? pro.url_pattern : '';
    // Retention (settings.retention_days): conversations inactive this long are erased.
    const retention = h('input', { type: 'number', min: 1, max: 3650, step: 1, inputmode: 'numeric', placeholder: 'Keep' });
    retention.value = Number.isSafeInteger(settings.retention_days) ? String(settings.retention_days) : '';
    const bot = createBotSettings(settings.bot);
    const visitors = createVisitorSettings(settings);
    const hours = createHoursSettings(settings);
    const assignment = createAssignmentSettings(settings);
    const cancel = h('button', { type: 'button', class: 'ghost', text: 'Cancel' });
    const f = h(
      'form',
      { class: 'adm-form adm-edit', 'aria-label': 'Edit ' + w.name, novalidate: true },
      field('Name', n, 'For the team: visitors never see it.'),
      field('Display name', displayName, 'What visitors see: the chat\'s title and the name its greeting and bot speak with. Empty: ' + (widgets.siteName() ? 'the site\'s name, ' + widgets.siteName() + '.' : '"Chat" (or the site\'s name, when PARLEY_APP_NAME gives one).')),
      field('Allowed origins', o, 'One per line. None: any site.'),
      field('Greeting', greeting, 'The first bubble visitors see. Empty: the default.'),
      field('Primary colour', color, 'A CSS colour such as #2563eb. Empty: the default.'),
      contrastNote,
      field('Position', position),
      field('Language', language, 'What the widget speaks. Automatic: the visitor\'s browser language.'),
      field('Proactive message', proMessage, 'A bubble beside the launcher for visitors who have not chatted yet, once a day. Empty: none.'),
      field('Show after (seconds)', proDelay, 'Empty: 10.'),
      field('Only on pages matching', proPattern, 'A path with * as a wildcard, such as /pricing/*. Empty: every page.'),
      field('Delete conversations after (days)', retention, 'Conversations with no activity for this many days are erased with their files. Empty: keep them.'),
      visitors.el,
      hours.el,
      assignment.el,
      bot.el,
      h('div', { class: 'adm-row' }, h('button', { type: 'submit', class: 'primary', text: 'Save' }), cancel),
    );
    cancel.addEventListener('click', () => {
      f.remove();
      item.querySelector('.adm-edit-toggle')?.focus();
    });
    f.addEventListener('submit', async (e) => {
      e.preventDefault();
      rowError.set('');
      // Settings are replaced whole: start from what the widget has (the bot, anything unknown).
      const next = JSON.parse(JSON.stringify(settings));
      if (displayName.value.trim()) next.display_name = displayName.value.trim();
      else delete next.display_name;
      if (greeting.value.trim()) next.greeting = greeting.value.trim();
      else delete next.greeting;
      const nextColors = Object.assign({}, colors);
      if (color.value.trim()) nextColors.primary = color.value.trim();
      else delete nextColors.primary;
      if (Object.keys(nextColors).length) next.colors = nextColors;
      else delete next.colors;
      next.position = position.value;
      if (language.value) next.locale = language.value;
      else delete next.locale;
      if (proMessage.value.trim()) {
        const p = { message: proMessage.value.trim() };
        const secs = Number(proDelay.value);
        if (proDelay.value.trim() && Number.isFinite(secs) && secs >= 0) p.delay_secs = Math.round(secs);
        if (proPattern.value.trim()) p.url_pattern = proPattern.value.trim();
        next.proactive = p;
      } else delete next.proactive;
      const days = retention.value.trim();
      if (!days) delete next.retention_days;
      else if (/^\d+$/.test(days) && Number(days) >= 1 && Number(days) <= 3650) next.retention_days = Number(days);
      else {
        rowError.set('Delete conversations after: a whole number of days from 1 to 3650, or empty to keep them.');
        return retention.focus();
      }
      const problem = visitors.problem();
      if (problem) {
        rowError.set(problem[0]);
        return problem[1].focus();
      }
      visitors.apply(next);
      const hoursProblem = hours.problem();
      if (hoursProblem) {
        rowError.set(hoursProblem[0]);
        return hoursProblem[1].focus();
      }
      hours.apply(next);
      const assignmentProblem = assignment.problem();
      if (assignmentProblem) {
        rowError.set(assignmentProblem[0]);
        return assignmentProblem[1].focus();
      }
      assignment.apply(next);
      next.bot = bot.value();
      try {
        await admin.updateWidget(w.id, { name: n.value.trim(), allowed_origins: lines(o.value), settings: next });
        status.set('Widget "' + n.value.trim() + '" is saved.');
        await load();
        list.querySelector('[data-widget-id="' + w.id + '"] .adm-edit-toggle')?.focus();
      } catch (err) {
        rowError.set('Could not save: ' + reason(err));
      }
    });
    return f;
  }

  function widgetItem(w) {
    const revoked = !!w.revoked_at;
    const origins = (w.allowed_origins || []).length ? w.allowed_origins.join(', ') : 'Any site';
    const rowError = errorLine();
    const result = h('div', { class: 'adm-result' });
    const item = h(
      'li',
      { class: 'adm-item' + (revoked ? ' disabled' : ''), 'data-widget-id': w.id },
      h('div', { class: 'adm-head' }, h('b', { text: w.name }), h('span', { class: 'muted', text: '#' + w.id }), revoked ? h('span', { class: 'tag', text: 'Revoked' }) : null),
      h('p', { class: 'muted adm-sub', text: 'Origins: ' + origins }),
      ...(Array.isArray(w.warnings) ? w.warnings : []).map((warning) => h('p', { class: 'error adm-sub', text: warning })),
    );
    if (revoked) return item;
    const edit = h('button', { type: 'button', class: 'ghost adm-edit-toggle', text: 'Edit', 'aria-label': 'Edit ' + w.name });
    edit.addEventListener('click', () => {
      const open = item.querySelector('.adm-edit');
      if (open) return open.querySelector('input')?.focus();
      item.insertBefore(editor(w, item, rowError), rowError.el);
      item.querySelector('.adm-edit input')?.focus();
    });
    const token = busyButton({ class: 'ghost', text: 'New token', 'aria-label': 'New token for ' + w.name }, async () => {
      rowError.set('');
      if (!confirm('Give "' + w.name + '" a new token? The old one stops working at once: every site must paste the new snippet.')) return;
      try {
        const res = await admin.newToken(w.id);
        result.replaceChildren(secret(res, 'Widget "' + w.name + '" has a new token.'));
        result.querySelector('.adm-copy-value')?.focus();
      } catch (err) {
        rowError.set('Could not renew the token: ' + reason(err));
      }
    });
    const identity = busyButton({ class: 'ghost', text: 'New identity secret', 'aria-label': 'New identity secret for ' + w.name }, async () => {
      rowError.set('');
      const what = w.has_identity_secret ? ' User tokens signed with the old one stop working at once: your backend must sign with the new one.' : '';
      if (!confirm('Make a new identity secret for "' + w.name + '"?' + what)) return;
      try {
        const res = await admin.newIdentitySecret(w.id);
        result.replaceChildren(h('div', { class: 'adm-secret' }, h('p', { class: 'notice', text: 'Widget "' + w.name + '" has a new identity secret. Copy it now: it is shown only now.' }), identitySecret(res.identity_secret || '')));
        result.querySelector('.adm-copy-value')?.focus();
        w.has_identity_secret = true;
      } catch (err) {
        rowError.set('Could not make the identity secret: ' + reason(err));
      }
    });
    const revoke = busyButton({ class: 'ghost danger', text: 'Revoke', 'aria-label': 'Revoke ' + w.name }, async () => {
      rowError.set('');
      if (!confirm('Revoke "' + w.name + '"? Its token stops working and visitors are disconnected.')) return;
      try {
        await admin.revoke(w.id);
        status.set('Widget "' + w.name + '" is revoked.');
        await load();
      } catch (err) {
        rowError.set('Could not revoke: ' + reason(err));
      }
    });
    item.append(h('div', { class: 'adm-row' }, edit, token, identity, revoke), rowError.el, result);
    return item;
  }

  async function load() {
    error.set('');
    try {
      const all = await widgets.refresh();
      replaceItems(list, all.map(widgetItem));
    } catch (err) {
      error.set('Could not load the widgets: ' + reason(err));
    }
  }

  return { el, load };
}
