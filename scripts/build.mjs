#!/usr/bin/env node
// Bundles each CLI into dist/ with esbuild: one ESM file per CLI, native addons left external.
import { build } from 'esbuild';
import { statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const entries = {
  fleet: 'broker/src/main.ts',
  'iot-agent': 'agent/src/main.ts',
  fw: 'firmware-tools/src/cli.ts',
  'fleet-sim': 'simulator/src/main.ts',
};

// ESM output still has to load the CommonJS dependencies that call require() for built-ins.
const banner = [
  '#!/usr/bin/env node',
  "import { createRequire as __edgewardCreateRequire } from 'node:module';",
  'const require = __edgewardCreateRequire(import.meta.url);',
].join('\n');

const quiet = process.argv.includes('--quiet');
for (const [name, entry] of Object.entries(entries)) {
  const out = `dist/${name}.js`;
  await build({
    absWorkingDir: root,
    entryPoints: [entry],
    outfile: out,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    minify: name === 'iot-agent',
    sourcemap: false,
    legalComments: 'none',
    // Native addons and their optional accelerators stay outside the bundle.
    external: ['better-sqlite3', 'cbor-extract', 'bufferutil', 'utf-8-validate'],
    banner: { js: banner },
    logLevel: 'warning',
  });
  if (!quiet) console.log(`${out.padEnd(22)} ${(statSync(`${root}${out}`).size / 1024).toFixed(0)} KiB`);
}
