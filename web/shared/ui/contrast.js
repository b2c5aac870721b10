// ui/contrast.js — owns colour contrast as WCAG 2 measures it: a colour's relative luminance, the
// contrast ratio of two colours (1 to 21), and which of black or white text reads better on a
// colour. The widget picks its text colour on the brand colour with it; the admin area warns
// when a chosen pair falls below AA (4.5:1 for text). CSS colours are read by the browser
// itself (a canvas normalises names, rgb() and hsl() to hex), so every form a setting accepts works.

/** WCAG AA for normal text. */
export const AA = 4.5;

/** [r, g, b] (0-255) of a CSS colour, or null (unreadable, or not opaque). */
export function rgbOf(value) {
  if (typeof value !== 'string') return null;
  let v = value.trim().toLowerCase();
  if (!/^#[0-9a-f]{3}([0-9a-f]{3})?$/.test(v) && typeof document !== 'undefined') {
    try {
      const ctx = document.createElement('canvas').getContext('2d');
      ctx.fillStyle = '#000001'; // a value no input maps to, to tell a refused one
      ctx.fillStyle = v;
      v = ctx.fillStyle;
      if (v === '#000001' && value.trim().toLowerCase() !== '#000001') return null;
    } catch {
      return null;
    }
  }
  const m = /^#([0-9a-f]{3}|[0-9a-f]{6})$/.exec(v);
  if (!m) return null;
  const hex = m[1].length === 3 ? [...m[1]].map((c) => c + c).join('') : m[1];
  return [0, 2, 4].map((i) => parseInt(hex.slice(i, i + 2), 16));
}

/** Relative luminance (0 black, 1 white). */
export function luminance([r, g, b]) {
  const channel = (c) => {
    const s = c / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
}

/** The contrast ratio of two CSS colours, or null when either cannot be read. */
export function contrast(a, b) {
  const x = rgbOf(a);
  const y = rgbOf(b);
  if (!x || !y) return null;
  const [hi, lo] = [luminance(x), luminance(y)].sort((p, q) => q - p);
  return (hi + 0.05) / (lo + 0.05);
}

/** Black or white, whichever reads better on `background`; null when it cannot be read. */
export function readableOn(background) {
  const rgb = rgbOf(background);
  if (!rgb) return null;
  const l = luminance(rgb);
  return (1.05 / (l + 0.05)) >= ((l + 0.05) / 0.05) ? '#ffffff' : '#000000';
}
