// main.js — the entry point esbuild bundles into dist/dashboard.js: starts the dashboard in the
// page's #app once the document is parsed. The API is this page's own origin.

import { createApp } from './app.js';

function start() {
  const root = document.getElementById('app');
  if (!root) return;
  createApp({ root, baseUrl: location.origin }).start();
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start, { once: true });
else start();
