// Bundles bench/lib/unprotected-server.ts the way scripts/build.mjs bundles `fleet` (ES module, node20, native
// addons external), with the ingest thread beside it, so that the protected and the unprotected runs execute
// the same bundled code. Outside dist/ (in the repository's ignored .tmp/): it is never shipped.
import { build } from 'esbuild';
import { root } from './procs.js';

/** Inside the repository: the external native addons resolve from its node_modules, and it is an ES module. */
const OUT = `${root}.tmp/bench-unprotected-server`;

/** Builds the bench's unprotected fleet server; returns the path of the file to run with node. */
export async function buildUnprotectedServer(): Promise<string> {
  await build({
    absWorkingDir: root,
    entryPoints: {
      'unprotected-server': 'bench/lib/unprotected-server.ts',
      // The server starts its ingest thread from the file next to its own bundle.
      'ingest-thread': 'broker/src/fleet/ingest-thread.ts',
    },
    outdir: OUT,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    sourcemap: false,
    legalComments: 'none',
    external: ['better-sqlite3', 'cbor-extract', 'bufferutil', 'utf-8-validate'],
    banner: {
      js: [
        "import { createRequire as __edgewardCreateRequire } from 'node:module';",
        'const require = __edgewardCreateRequire(import.meta.url);',
      ].join('\n'),
    },
    logLevel: 'warning',
  });
  return `${OUT}/unprotected-server.js`;
}
