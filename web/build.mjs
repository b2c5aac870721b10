// build.mjs — bundles the widget (widget/src/index.js) and the agents' dashboard
// (dashboard/src/main.js), each with laravel-echo and pusher-js from node_modules, into one
// minified IIFE apiece (widget/dist/chatbot-widget.js, dashboard/dist/dashboard.js), copies each
// one's page next to it, and prints the sizes. Run by `npm run build`; the Rust build runs it too.
//
//   node build.mjs                      # both
//   node build.mjs widget               # one (or: dashboard)
//   node build.mjs --watch [widget]     # rebuild on change
//   SIZES=1 node build.mjs              # also each input's bytes in the bundle

import * as esbuild from 'esbuild';
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const here = dirname(fileURLToPath(import.meta.url));
const BUNDLES_NOTE = 'bundles pusher-js 8 (MIT, Pusher Ltd) and laravel-echo 2 (MIT, Taylor Otwell)';
// The dashboard also draws its reports' charts with uPlot (its stylesheet comes in as text).
const DASHBOARD_NOTE = 'bundles pusher-js 8 (MIT, Pusher Ltd), laravel-echo 2 (MIT, Taylor Otwell) and uPlot 1 (MIT, Leon Sorokin)';

// Each bundle's own version is in its banner and its code (window.ChatbotWidget.version).
const BUNDLES = {
  widget: { title: 'Parley chat widget', version: '2.1.0', entry: 'widget/src/index.js', out: 'widget/dist/chatbot-widget.js', page: 'widget/src/chatbot-test.html', define: '__WIDGET_VERSION__' },
  dashboard: { title: "Parley agents' dashboard", version: '1.0.0', entry: 'dashboard/src/main.js', out: 'dashboard/dist/dashboard.js', page: 'dashboard/src/dashboard.html', define: '__DASHBOARD_VERSION__', note: DASHBOARD_NOTE },
};

function options(b) {
  return {
    entryPoints: [join(here, b.entry)],
    outfile: join(here, b.out),
    bundle: true,
    format: 'iife',
    minify: true,
    target: ['es2020', 'chrome90', 'firefox90', 'safari15'],
    legalComments: 'none',
    banner: { js: `/*! ${b.title} ${b.version} | ${b.note || BUNDLES_NOTE} */` },
    loader: { '.css': 'text' },
    define: { 'process.env.NODE_ENV': '"production"', [b.define]: JSON.stringify(b.version) },
    logLevel: 'warning',
    metafile: true,
  };
}

function report(b, result) {
  const out = join(here, b.out);
  copyFileSync(join(here, b.page), join(dirname(out), basename(b.page)));
  const code = readFileSync(out);
  const gz = gzipSync(code, { level: 9 }).length;
  const kb = (n) => (n / 1024).toFixed(1) + ' KB';
  console.log(`${b.out}  ${kb(code.length)} minified, ${kb(gz)} gzipped`);
  if (process.env.SIZES) {
    const inputs = Object.entries(Object.values(result.metafile.outputs)[0].inputs)
      .map(([file, info]) => [file.replace(/^.*node_modules\//, ''), info.bytesInOutput])
      .sort((a, b) => b[1] - a[1]);
    for (const [file, bytes] of inputs) console.log(`  ${String(bytes).padStart(7)}  ${file}`);
  }
}

const watch = process.argv.includes('--watch');
const named = process.argv.slice(2).filter((a) => !a.startsWith('--'));
for (const name of named) if (!BUNDLES[name]) throw new Error(`no bundle named ${name} (${Object.keys(BUNDLES).join(', ')})`);

for (const name of named.length ? named : Object.keys(BUNDLES)) {
  const b = BUNDLES[name];
  mkdirSync(dirname(join(here, b.out)), { recursive: true });
  if (watch) {
    const plugins = [{ name: 'report', setup: (build) => build.onEnd((r) => r.errors.length || report(b, r)) }];
    await (await esbuild.context({ ...options(b), plugins })).watch();
    console.log(`watching ${relative(here, dirname(join(here, b.entry)))}/ …`);
  } else {
    report(b, await esbuild.build(options(b)));
  }
}
