// build.mjs — bundles the widget and the agents' dashboard (dashboard/src/main.js, with
// laravel-echo, pusher-js and uPlot, one minified IIFE: dashboard/dist/dashboard.js), copies each
// one's page next to it, and prints the sizes. Run by `npm run build`; the Rust build runs it too.
// The widget is two files: the loader (widget/src/loader.js → widget/dist/chatbot-widget.js, the
// script tag's fixed address, a few KB) and the full widget it fetches when needed
// (widget/src/index.js with laravel-echo and pusher-js → widget/dist/chatbot-widget/app.<hash>.js,
// its name hashed from its bytes and baked into the loader, so it can be cached for a year). Both
// also get .gz and .br copies, which the server sends to browsers that accept them.
//
//   node build.mjs                      # both
//   node build.mjs widget               # one (or: dashboard)
//   node build.mjs --watch [widget]     # rebuild on change
//   SIZES=1 node build.mjs              # also each input's bytes in the bundle

import * as esbuild from 'esbuild';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { brotliCompressSync, constants as zlib, gzipSync } from 'node:zlib';

const here = dirname(fileURLToPath(import.meta.url));
const BUNDLES_NOTE = 'bundles pusher-js 8 (MIT, Pusher Ltd) and laravel-echo 2 (MIT, Taylor Otwell)';
// The dashboard also draws its reports' charts with uPlot (its stylesheet comes in as text).
const DASHBOARD_NOTE = 'bundles pusher-js 8 (MIT, Pusher Ltd), laravel-echo 2 (MIT, Taylor Otwell) and uPlot 1 (MIT, Leon Sorokin)';

// Each bundle's own version is in its banner and its code (window.ChatbotWidget.version).
const BUNDLES = {
  widget: {
    title: 'Parley chat widget', version: '2.1.0', define: '__WIDGET_VERSION__', page: 'widget/src/chatbot-test.html',
    entry: 'widget/src/index.js', out: 'widget/dist/chatbot-widget/app.js', // named app.<hash>.js
    loader: 'widget/src/loader.js', loaderOut: 'widget/dist/chatbot-widget.js',
  },
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

const kb = (n) => (n / 1024).toFixed(1) + ' KB';

/** Prints a bundle's sizes (and, with SIZES=1, each input's bytes in it). */
function sizes(file, code, result) {
  const gz = gzipSync(code, { level: 9 }).length;
  const br = brotliCompressSync(code).length;
  console.log(`${file}  ${kb(code.length)} minified, ${kb(gz)} gzipped, ${kb(br)} brotli`);
  if (process.env.SIZES) {
    const inputs = Object.entries(Object.values(result.metafile.outputs)[0].inputs)
      .map(([input, info]) => [input.replace(/^.*node_modules\//, ''), info.bytesInOutput])
      .sort((a, b) => b[1] - a[1]);
    for (const [input, bytes] of inputs) console.log(`  ${String(bytes).padStart(7)}  ${input}`);
  }
}

function report(b, result) {
  const out = join(here, b.out);
  copyFileSync(join(here, b.page), join(dirname(out), basename(b.page)));
  sizes(b.out, readFileSync(out), result);
}

// ---- the widget: the loader and the full widget -------------------------------------------------

/** Writes `bytes` unless the file holds them already (the Rust build watches these files). */
function put(file, bytes) {
  if (existsSync(file) && readFileSync(file).equals(bytes)) return;
  writeFileSync(file, bytes);
}

/** `file` and its .gz and .br copies (the server picks one by Accept-Encoding). */
function putCompressed(file, code) {
  put(file, code);
  put(file + '.gz', gzipSync(code, { level: 9 }));
  put(file + '.br', brotliCompressSync(code, { params: { [zlib.BROTLI_PARAM_MODE]: zlib.BROTLI_MODE_TEXT, [zlib.BROTLI_PARAM_QUALITY]: 11, [zlib.BROTLI_PARAM_SIZE_HINT]: code.length } }));
}

/**
 * The launcher's rules of the widget's stylesheet, for the loader to draw the same launcher: the
 * host, the resets, the launcher and its badge, and the @media blocks' parts of those (rules
 * for the panel, the messages and the rest are left out). The stylesheet has no nesting beyond
 * @media and @keyframes.
 */
function launcherCss(css) {
  const keep = (selector) =>
    selector.split(',').some((s) => /^\s*(:host(\([^)]*\))?|\*|\[hidden\]|\.frame|button|:focus-visible|svg)\s*$/.test(s) || /\.launcher|\.badge/.test(s));
  const rules = (text) => {
    const out = [];
    let i = 0;
    while (i < text.length) {
      const open = text.indexOf('{', i);
      if (open < 0) break;
      let depth = 1;
      let end = open + 1;
      for (; end < text.length && depth; end++) depth += text[end] === '{' ? 1 : text[end] === '}' ? -1 : 0;
      const selector = text.slice(i, open).trim();
      const body = text.slice(open + 1, end - 1).trim();
      if (selector.startsWith('@media')) {
        const inner = rules(body);
        if (inner) out.push(`${selector}{${inner}}`);
      } else if (!selector.startsWith('@') && keep(selector)) out.push(`${selector}{${body.replace(/\s*\n\s*/g, '')}}`);
      i = end;
    }
    return out.join('');
  };
  return rules(css.replace(/\/\*[\s\S]*?\*\//g, ''));
}

/** `import { APP, CSS, LABELS, RTL } from 'parley:loader'` in the loader: made here at each build. */
function loaderModule(app) {
  const src = (file) => join(here, 'widget/src', file);
  const fresh = (file) => import(pathToFileURL(src(file)).href + '?at=' + Date.now()); // re-read in watch mode
  return {
    name: 'parley-loader',
    setup(build) {
      build.onResolve({ filter: /^parley:loader$/ }, () => ({ path: 'loader', namespace: 'parley' }));
      build.onLoad({ filter: /.*/, namespace: 'parley' }, async () => {
        const [{ CSS }, { LOCALES, isRtl }] = await Promise.all([fresh('ui/styles.js'), fresh('i18n.js')]);
        const labels = Object.fromEntries(Object.entries(LOCALES).map(([code, table]) => [code, table.openChat]));
        const exports = { APP: app.name, CSS: launcherCss(CSS), LABELS: labels, RTL: Object.keys(LOCALES).filter(isRtl) };
        return {
          contents: Object.entries(exports).map(([k, v]) => `export const ${k} = ${JSON.stringify(v)};`).join('\n'),
          loader: 'js',
          resolveDir: src(''),
          watchFiles: [src('ui/styles.js'), src('i18n.js'), ...readdirSync(src('locales')).map((f) => src('locales/' + f))],
        };
      });
    },
  };
}

async function buildWidget(b) {
  const appDir = join(here, dirname(b.out));
  const app = { name: null }; // 'chatbot-widget/app.<hash>.js', relative to the loader's address
  mkdirSync(appDir, { recursive: true });

  const writeApp = (result) => {
    if (result.errors.length) return;
    const code = Buffer.from(result.outputFiles[0].contents);
    const file = `app.${createHash('sha256').update(code).digest('hex').slice(0, 12)}.js`;
    for (const old of readdirSync(appDir)) if (/^app\..*\.js(\.gz|\.br)?$/.test(old) && !old.startsWith(file)) rmSync(join(appDir, old));
    putCompressed(join(appDir, file), code);
    app.name = basename(appDir) + '/' + file;
    sizes(relative(here, join(appDir, file)), code, result);
  };
  const writeLoader = (result) => {
    if (result.errors.length) return;
    const code = Buffer.from(result.outputFiles[0].contents);
    const out = join(here, b.loaderOut);
    putCompressed(out, code);
    copyFileSync(join(here, b.page), join(dirname(out), basename(b.page)));
    sizes(b.loaderOut, code, result);
  };
  const appOptions = { ...options(b), write: false };
  const loaderOptions = {
    ...options(b),
    entryPoints: [join(here, b.loader)],
    outfile: join(here, b.loaderOut),
    banner: { js: `/*! ${b.title} ${b.version} (loader) */` },
    write: false,
    plugins: [loaderModule(app)],
  };

  if (!watch) {
    writeApp(await esbuild.build(appOptions));
    writeLoader(await esbuild.build(loaderOptions));
    return;
  }
  const ended = (fn) => ({ name: 'written', setup: (build) => build.onEnd(fn) });
  const loaderCtx = await esbuild.context({ ...loaderOptions, plugins: [...loaderOptions.plugins, ended(writeLoader)] });
  // A new full widget is a new name in the loader: build the loader again after each.
  const appCtx = await esbuild.context({ ...appOptions, plugins: [ended((r) => (writeApp(r), r.errors.length || loaderCtx.rebuild().catch(() => {})))] });
  await appCtx.rebuild();
  await Promise.all([appCtx.watch(), loaderCtx.watch()]);
  console.log('watching widget/src/ …');
}

const watch = process.argv.includes('--watch');
const named = process.argv.slice(2).filter((a) => !a.startsWith('--'));
for (const name of named) if (!BUNDLES[name]) throw new Error(`no bundle named ${name} (${Object.keys(BUNDLES).join(', ')})`);

for (const name of named.length ? named : Object.keys(BUNDLES)) {
  const b = BUNDLES[name];
  mkdirSync(dirname(join(here, b.out)), { recursive: true });
  if (b.loader) {
    await buildWidget(b);
  } else if (watch) {
    const plugins = [{ name: 'report', setup: (build) => build.onEnd((r) => r.errors.length || report(b, r)) }];
    await (await esbuild.context({ ...options(b), plugins })).watch();
    console.log(`watching ${relative(here, dirname(join(here, b.entry)))}/ …`);
  } else {
    report(b, await esbuild.build(options(b)));
  }
}
