// What scripts/build.mjs bundles and how: one file per CLI and per worker thread, native addons left external.
// The bench's own server (bench/lib/unprotected-build.ts) is bundled the same way, with the same threads.
import { build } from 'esbuild';
import { copyFile, mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('..', import.meta.url));
// `fw` is CommonJS: a short-lived tool whose start-up is part of every `fw verify`, and Node 20 starts a CommonJS
// file about 5 ms sooner than an ES module (no ESM loader). The long-running CLIs stay ES modules.
export const entries = {
  fleet: { entry: 'broker/src/main.ts', format: 'esm' },
  'iot-agent': { entry: 'agent/src/main.ts', format: 'esm' },
  fw: { entry: 'firmware-tools/src/main.ts', format: 'cjs' },
  'fleet-sim': { entry: 'simulator/src/main.ts', format: 'esm' },
  // Not a CLI: the fleet server's ingest thread, started by dist/fleet.js and dist/fleet-sim.js.
  'ingest-thread': { entry: 'broker/src/fleet/ingest-thread.ts', format: 'esm', thread: true },
  // Not a CLI either: the operator API's read thread, started by dist/fleet.js.
  'admin-read-thread': { entry: 'broker/src/admin/admin-read-thread.ts', format: 'esm', thread: true },
  // And the posture snapshots' thread (db/posture-snapshots.ts), started by dist/fleet.js.
  'posture-thread': { entry: 'broker/src/fleet/posture-thread.ts', format: 'esm', thread: true },
};

const banners = {
  // ESM output still has to load the CommonJS dependencies that call require() for built-ins.
  esm: [
    '#!/usr/bin/env node',
    "import { createRequire as __edgewardCreateRequire } from 'node:module';",
    'const require = __edgewardCreateRequire(import.meta.url);',
  ].join('\n'),
  // CommonJS output has no import.meta: the sources' import.meta.url becomes this file's URL.
  cjs: ['#!/usr/bin/env node', "const __edgewardModuleUrl = require('node:url').pathToFileURL(__filename).href;"].join(
    '\n',
  ),
};

// cbor-x's node entry loads the optional native string extractor (cbor-extract, through node-gyp-build and a
// libc probe) at import: ~8 ms of start-up that `fw` pays on every run and never needs for manifests of a few
// hundred bytes. The fw bundle takes cbor-x's plain JavaScript entry instead; the decoding is the same.
const plainCborX = {
  name: 'plain-cbor-x',
  setup(b) {
    b.onResolve({ filter: /^cbor-x$/ }, () => ({ path: `${root}node_modules/cbor-x/index.js` }));
  },
};

/** Bundles `entry` into `out` (a .js or .cjs file) as build.mjs bundles the CLI `name`. */
export async function bundle(name, { entry, format }, out) {
  await build({
    absWorkingDir: root,
    entryPoints: [entry],
    outfile: out,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format,
    ...(format === 'cjs' ? { define: { 'import.meta.url': '__edgewardModuleUrl' } } : {}),
    minify: name === 'iot-agent',
    sourcemap: false,
    legalComments: 'none',
    // Native addons and their optional accelerators stay outside the bundle.
    external: ['better-sqlite3', 'better-sqlite3-multiple-ciphers', 'cbor-extract', 'bufferutil', 'utf-8-validate'],
    banner: { js: banners[format] },
    logLevel: 'warning',
    plugins: name === 'fw' ? [plainCborX] : [],
  });
}

/**
 * The fleet dashboard (broker/dashboard/) into outDir: index.html as it is, app.js (the TypeScript, with uPlot
 * and the check catalogue) and app.css (style.css with uPlot's CSS it @imports). No source maps and nothing
 * inline: the server sends a CSP with script-src and style-src 'self'.
 */
export async function bundleDashboard(outDir) {
  const common = {
    absWorkingDir: root,
    bundle: true,
    minify: true,
    sourcemap: false,
    legalComments: 'none',
    logLevel: 'warning',
  };
  // An absolute folder (tests build into a temp folder) or one relative to the checkout (dist/dashboard).
  const out = resolve(root, outDir);
  await mkdir(out, { recursive: true });
  await Promise.all([
    build({
      ...common,
      entryPoints: ['broker/dashboard/src/main.ts'],
      outfile: join(out, 'app.js'),
      platform: 'browser',
      format: 'esm',
      target: 'es2022',
      tsconfig: 'broker/dashboard/tsconfig.json',
    }),
    build({
      ...common,
      entryPoints: ['broker/dashboard/style.css'],
      outfile: join(out, 'app.css'),
      target: 'chrome110',
    }),
    copyFile(join(root, 'broker/dashboard/index.html'), join(out, 'index.html')),
  ]);
}
