// ui/details.js — owns the visitor details in the side bar: name, email (a mailto: link only for
// something shaped like an address), the page they wrote from (a link only if http(s)), their
// browser (a short summary; the full user agent on hover), when the conversation started, its
// id, widget, status and assignee, whether the visitor waits for the reply by email (they asked
// for a person while the team was away), and the visitor's rating once given. All as text.

import { h, httpUrl, externalLink, formatTime } from '../../../shared/ui/dom.js';
import { visitorName } from './inbox.js';
import { statusLabel } from '../../../shared/ui/status.js';

const EMAIL = /^[^\s@<>"']+@[^\s@<>"']+\.[^\s@<>"']+$/;

/** "Chrome 131 on Windows" from a user agent (best effort; the full string is kept too). */
export function browserSummary(ua) {
  if (typeof ua !== 'string' || !ua) return null;
  const pick = (re) => ua.match(re);
  let browser = null;
  let m;
  if ((m = pick(/Edg\/(\d+)/))) browser = 'Edge ' + m[1];
  else if ((m = pick(/OPR\/(\d+)/))) browser = 'Opera ' + m[1];
  else if ((m = pick(/Firefox\/(\d+)/))) browser = 'Firefox ' + m[1];
  else if ((m = pick(/(?:HeadlessChrome|Chrome|CriOS)\/(\d+)/))) browser = 'Chrome ' + m[1];
  else if ((m = pick(/Version\/(\d+)[\d.]* .*Safari/))) browser = 'Safari ' + m[1];
  let os = null;
  if (/Windows/.test(ua)) os = 'Windows';
  else if (/iPhone|iPad/.test(ua)) os = 'iOS';
  else if (/Mac OS X/.test(ua)) os = 'macOS';
  else if (/Android/.test(ua)) os = 'Android';
  else if (/CrOS/.test(ua)) os = 'ChromeOS';
  else if (/Linux/.test(ua)) os = 'Linux';
  if (!browser && !os) return ua.slice(0, 60);
  return [browser || 'A browser', os].filter(Boolean).join(' on ');
}

/** "shop.example/cart" for a page link (the full address is its title). */
export function shortUrl(href) {
  try {
    const url = new URL(href);
    return url.host + (url.pathname === '/' ? '' : url.pathname);
  } catch {
    return href;
  }
}


/** The visitor's rating: stars (read as "4 of 5") and their comment, if any. */
function ratingOf(rating) {
  const score = Number(rating?.score);
  if (!Number.isInteger(score) || score < 1 || score > 5) return null;
  const stars = h('span', { class: 'stars', role: 'img', 'aria-label': score + ' of 5', text: '★'.repeat(score) + '☆'.repeat(5 - score) });
  const comment = typeof rating.comment === 'string' && rating.comment ? h('q', { class: 'rating-comment', text: rating.comment }) : null;
  return h('span', { class: 'rating' }, stars, comment ? ' ' : null, comment);
}

/**
 * "Verified" when the site signed the value (a user token), "claimed" when the visitor typed it:
 * an unsigned name or email is never shown as proven.
 */
function proof(verified) {
  return verified
    ? h('span', { class: 'proof verified', title: 'Signed by the site: the visitor is signed in as this user', text: '✓ verified' })
    : h('span', { class: 'proof claimed', title: 'Typed by the visitor, not proven', text: 'claimed' });
}

/** The pre-chat form's answers as [key, text] pairs, from however the conversation came. */
function answers(attributes) {
  if (!attributes || typeof attributes !== 'object' || Array.isArray(attributes)) return [];
  return Object.entries(attributes)
    .filter(([, v]) => ['string', 'number', 'boolean'].includes(typeof v))
    .map(([k, v]) => [k, typeof v === 'boolean' ? (v ? 'Yes' : 'No') : String(v)]);
}

/** A pre-chat answer's key as a label: `order_number` → "Order number". */
function label(key) {
  const words = String(key).replace(/_/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

export function createDetails() {
  const dl = h('dl', { class: 'facts' });
  const el = h('section', { class: 'details', 'aria-labelledby': 'pd-details-title', hidden: true }, h('h2', { id: 'pd-details-title', text: 'Visitor' }), dl);

  function row(term, value) {
    if (value == null || value === '') return [];
    return [h('dt', { text: term }), h('dd', null, value)];
  }

  return {
    el,
    render(c, team) {
      el.hidden = !c;
      if (!c) return dl.replaceChildren();
      const email = typeof c.visitor_email === 'string' && EMAIL.test(c.visitor_email) ? h('a', { href: 'mailto:' + encodeURIComponent(c.visitor_email).replace(/%40/g, '@'), text: c.visitor_email }) : c.visitor_email;
      const pageHref = httpUrl(c.page_url);
      let page = c.page_url;
      if (pageHref) {
        page = externalLink(pageHref, shortUrl(pageHref));
        page.className = 'url';
        page.title = c.page_url;
      }
      const ua = browserSummary(c.user_agent);
      const browser = ua ? h('span', { title: c.user_agent, text: ua }) : null;
      const agent = c.assigned_agent_id != null ? (team || []).find((a) => a.id === c.assigned_agent_id) : null;
      dl.replaceChildren(
        ...row('Name', c.visitor_name ? h('span', null, visitorName(c), ' ', proof(c.name_verified)) : visitorName(c)),
        ...row('Email', email ? h('span', null, email, ' ', proof(c.email_verified)) : null),
        ...row('User id', c.user_id ? h('span', null, c.user_id, ' ', proof(true)) : null),
        ...answers(c.attributes).flatMap(([key, value]) => row(label(key), value)),
        ...row('Consent', c.consent_at ? 'Given ' + formatTime(c.consent_at).long : null),
        ...row('Language', c.locale),
        ...row('Page', page),
        ...row('Browser', browser),
        ...row('User agent', c.user_agent ? h('span', { class: 'ua', text: c.user_agent }) : null),
        ...row('Started', c.created_at ? formatTime(c.created_at).long : null),
        ...row('Status', statusLabel(c) || c.status),
        ...row('Reply by email', c.waiting_for_email_at && c.status !== 'closed' ? 'Waiting for email since ' + formatTime(c.waiting_for_email_at).long + ': the visitor asked for a person while the team was away; your next reply is emailed at once' : null),
        ...row('Assigned to', c.assigned_agent_id != null ? agent?.name || 'Agent #' + c.assigned_agent_id : 'Nobody'),
        ...row('Rating', ratingOf(c.rating)),
        ...row('Conversation', '#' + c.id + (c.widget_id != null ? ' · widget #' + c.widget_id : '')),
      );
    },
  };
}
