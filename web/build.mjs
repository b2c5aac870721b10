// build.mjs — bundles src/index.js (with laravel-echo and pusher-js from node_modules) into one
// minified IIFE, dist/chatbot-widget.js, copies the demo page to dist/, and prints the sizes.
// Run by `npm run build` in web/; the Rust build runs it too. `--watch` rebuilds on change.

import * as esbuild from 'esbuild';
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, 'dist');
const version = '2.1.0'; // the widget's own version, in its banner and its code

const options = {
  entryPoints: [join(here, 'src/index.js')],
  outfile: join(dist, 'chatbot-widget.js'),
  bundle: true,
  format: 'iife',
  minify: true,
  target: ['es2020', 'chrome90', 'firefox90', 'safari15'],
  legalComments: 'none',
  banner: {
    js: `/*! Parley chat widget ${version} | bundles pusher-js 8 (MIT, Pusher Ltd) and laravel-echo 2 (MIT, Taylor Otwell) */`,
  },
  define: { 'process.env.NODE_ENV': '"production"', __WIDGET_VERSION__: JSON.stringify(version) },
  logLevel: 'warning',
  metafile: true,
};

mkdirSync(dist, { recursive: true });

function report(result) {
  copyFileSync(join(here, 'src/chatbot-test.html'), join(dist, 'chatbot-test.html'));
  const code = readFileSync(options.outfile);
  const gz = gzipSync(code, { level: 9 }).length;
  const kb = (n) => (n / 1024).toFixed(1) + ' KB';
  console.log(`dist/chatbot-widget.js  ${kb(code.length)} minified, ${kb(gz)} gzipped`);
  if (process.env.WIDGET_SIZES) {
    const inputs = Object.entries(result.metafile.outputs[Object.keys(result.metafile.outputs)[0]].inputs)
      .map(([file, info]) => [file.replace(/^.*node_modules\//, ''), info.bytesInOutput])
      .sort((a, b) => b[1] - a[1]);
    for (const [file, bytes] of inputs) console.log(`  ${String(bytes).padStart(7)}  ${file}`);
  }
}

if (process.argv.includes('--watch')) {
  const ctx = await esbuild.context({ ...options, plugins: [{ name: 'report', setup: (b) => b.onEnd((r) => r.errors.length || report(r)) }] });
  await ctx.watch();
  console.log('watching src/ …');
} else {
  report(await esbuild.build(options));
}
