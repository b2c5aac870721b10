// A tiny static server on 127.0.0.1:0 for the pages under test: it serves web/widget/dist (the
// built loader, the full widget it fetches, and the test page) the way `parley serve` will, filling in the page's
// placeholders, from a different origin than the API (so CORS is exercised, as on a real
// site). `?cfg=<json>` merges extra ChatbotConfig fields into the test page (e.g. faster
// realtime attempts) over the page's own (its visitorName, say); `?calls=<js>` runs code right after the pre-load stub (before the script
// loads); `?nostub=1` removes the stub.

import { createServer } from 'node:http';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { WEB_DIR } from './server.mjs';

const DIST = join(WEB_DIR, 'widget', 'dist');

export async function startPages(parley) {
  if (!existsSync(join(DIST, 'chatbot-widget.js'))) throw new Error('web/widget/dist is missing: run `npm run build` in web/');
  const server = createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    if (url.pathname === '/chatbot-widget.js') {
      res.writeHead(200, { 'Content-Type': 'text/javascript; charset=utf-8', 'Cache-Control': 'no-store' });
      return res.end(readFileSync(join(DIST, 'chatbot-widget.js')));
    }
    // The full widget, which the loader fetches from beside itself (chatbot-widget/app.<hash>.js).
    const app = /^\/chatbot-widget\/(app\.[0-9a-f]+\.js)$/.exec(url.pathname);
    if (app && existsSync(join(DIST, 'chatbot-widget', app[1]))) {
      res.writeHead(200, { 'Content-Type': 'text/javascript; charset=utf-8', 'Cache-Control': 'no-store' });
      return res.end(readFileSync(join(DIST, 'chatbot-widget', app[1])));
    }
    if (url.pathname === '/chatbot-test.html' || url.pathname === '/') {
      let html = readFileSync(join(DIST, 'chatbot-test.html'), 'utf8');
      // The script from this server; the API on Parley's.
      html = html.replaceAll('__PARLEY_BASE_URL__/chatbot-widget.js', '/chatbot-widget.js');
      html = html.replaceAll('__PARLEY_DEMO_TOKEN__', parley.token).replaceAll('__PARLEY_BASE_URL__', parley.baseUrl);
      const cfg = url.searchParams.get('cfg');
      // After the page's own fields, so the test's win (visitorEmail, say).
      if (cfg) html = html.replace(/(window\.ChatbotConfig = \{[\s\S]*?\n {4}\};)/, '$1\n    Object.assign(window.ChatbotConfig, ' + JSON.stringify(JSON.parse(cfg)) + ');');
      // Calls made through the pre-load stub, before the widget script has run.
      const calls = url.searchParams.get('calls');
      if (calls) html = html.replace('</script>\n  <script src="/chatbot-widget.js"', calls + '\n  </script>\n  <script src="/chatbot-widget.js"');
      if (url.searchParams.get('nostub')) html = html.replace(/window\.ChatbotWidget = window\.ChatbotWidget \|\|[\s\S]*?\}\)\(\);/, '');
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
      return res.end(html);
    }
    res.writeHead(404, { 'Content-Type': 'text/plain' });
    res.end('not found');
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const origin = 'http://127.0.0.1:' + server.address().port;
  return {
    origin,
    page(cfg, { calls } = {}) {
      const q = new URLSearchParams();
      if (cfg) q.set('cfg', JSON.stringify(cfg));
      if (calls) q.set('calls', calls);
      return origin + '/chatbot-test.html' + (q.size ? '?' + q : '');
    },
    stop: () => new Promise((r) => server.close(r)),
  };
}
