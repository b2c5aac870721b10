// ui/icons.js — the dashboard's icons: our own path data (never from user data), drawn by the
// shared DOM helpers, so the bundle carries only the icons it shows.

import { iconSet } from '../../../shared/ui/dom.js';

export const icon = iconSet({
  send: 'M3 20l18-8L3 4v6l12 2-12 2z',
  file: 'M14 3H6v18h12V7zM14 3v4h4',
  clip: 'M21 11l-8.5 8.5a5 5 0 0 1-7-7L14 4a3.5 3.5 0 0 1 5 5l-8.5 8.5a2 2 0 0 1-3-3L15 7',
  inbox: 'M3 13l3-8h12l3 8v6H3zM3 13h5l1 3h6l1-3h5',
  out: 'M15 4h4v16h-4M10 16l4-4-4-4M14 12H4',
  back: 'M15 18l-6-6 6-6',
  user: 'M12 12a4 4 0 1 0 0-8 4 4 0 0 0 0 8zM4 21a8 8 0 0 1 16 0',
  devices: 'M3 5h18v11H3zM8 21h8M12 16v5',
  chart: 'M4 20h16M7 16v-5M12 16V6M17 16v-8',
  bell: 'M6 16V11a6 6 0 1 1 12 0v5l2 2H4zM10 20a2 2 0 0 0 4 0',
  gear: 'M12 15a3 3 0 1 0 0-6 3 3 0 0 0 0 6zM19 12l2-1-1-3-2 .2-1.4-1.4L17 5l-3-1-1 2h-2L10 4 7 5l.4 2.8L6 9.2 4 9l-1 3 2 1v2l-2 1 1 3 2-.2 1.4 1.4L7 21l3 1 1-2h2l1 2 3-1-.4-2.8 1.4-1.4 2 .2 1-3-2-1z',
});
