#!/usr/bin/env node
// Bundles each CLI into dist/ with esbuild: one file per CLI and per worker thread (scripts/bundles.mjs).
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { bundle, bundleDashboard, entries, root } from './bundles.mjs';

// --quiet: no size table. --only NAME: one CLI (or `dashboard`). --outdir DIR: somewhere else than dist/ (tests).
const argv = process.argv.slice(2);
const quiet = argv.includes('--quiet');
const flag = (name) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
const only = flag('--only');
const outdir = flag('--outdir') ?? 'dist';
if (only !== undefined && !(only in entries) && only !== 'dashboard') {
  console.error(`--only: unknown CLI ${only} (one of ${Object.keys(entries).join(', ')}, dashboard)`);
  process.exit(2);
}
for (const [name, { format }] of Object.entries(entries)) {
  if (only !== undefined && name !== only) continue;
  const out = `${outdir}/${name}.${format === 'cjs' ? 'cjs' : 'js'}`;
  await bundle(name, entries[name], out);
  if (!quiet) console.log(`${out.padEnd(26)} ${(statSync(resolve(root, out)).size / 1024).toFixed(0)} KiB`);
}
// The fleet dashboard the server serves at / (broker/dashboard/).
if (only === undefined || only === 'dashboard') {
  await bundleDashboard(`${outdir}/dashboard`);
  if (!quiet) {
    for (const file of ['app.js', 'app.css']) {
      const out = `${outdir}/dashboard/${file}`;
      console.log(`${out.padEnd(26)} ${(statSync(resolve(root, out)).size / 1024).toFixed(0)} KiB`);
    }
  }
}
