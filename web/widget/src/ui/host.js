// ui/host.js — the widget's element on the page, shared by the loader (which draws the launcher
// first) and the full widget's panel, so both make the same Shadow DOM host and colour it the
// same way: nothing moves or changes colour when the full widget takes over.

import { safeColor } from '../../../shared/ui/dom.js';
import { readableOn } from '../../../shared/ui/contrast.js';

/** A `#parley-chatbot-widget` element (not yet in the page) with an open shadow root styled by `css`. */
export function createHost(css) {
  const host = document.createElement('div');
  host.id = 'parley-chatbot-widget';
  host.setAttribute('data-parley', '');
  const root = host.attachShadow({ mode: 'open' });
  // A constructed sheet is not subject to a host page's CSP style-src; <style> is the fallback.
  try {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(css);
    root.adoptedStyleSheets = [sheet];
  } catch {
    const style = document.createElement('style');
    style.textContent = css;
    root.append(style);
  }
  return { host, root };
}

const COLOR_PROPERTIES = { primary: '--pw-primary', text_on_primary: '--pw-on-primary', background: '--pw-bg', text: '--pw-text', bot: '--pw-bot', agent: '--pw-agent' };

/** The widget's colours and side from its settings, as CSS properties and data-position on `host`. */
export function applyHostSettings(host, settings) {
  const colors = settings?.colors || {};
  const primary = safeColor(colors.primary || settings?.color || settings?.primary_color);
  if (primary) host.style.setProperty('--pw-primary', primary);
  for (const [key, prop] of Object.entries(COLOR_PROPERTIES)) {
    const value = safeColor(colors[key]);
    if (value) host.style.setProperty(prop, value);
  }
  // Text on the brand colour: the site's choice, else black or white by contrast (a yellow
  // brand gets black text, not white at 1.5:1).
  if (primary && !safeColor(colors.text_on_primary)) {
    const text = readableOn(primary);
    if (text) host.style.setProperty('--pw-on-primary', text);
  }
  host.setAttribute('data-position', settings?.position === 'left' || settings?.position === 'bottom-left' ? 'left' : 'right');
}
