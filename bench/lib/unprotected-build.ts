// Bundles bench/lib/unprotected-server.ts exactly as scripts/build.mjs bundles `fleet` (scripts/bundles.mjs), with
// every worker thread beside it, so that the protected and the unprotected runs execute the same bundled code.
// Outside dist/ (in the repository's ignored .tmp/): it is never shipped.
import { bundle, entries } from '../../scripts/bundles.mjs';
import { root } from './procs.js';

/** Inside the repository: the external native addons resolve from its node_modules, and it is an ES module. */
const OUT = `${root}.tmp/bench-unprotected-server`;

/** Builds the bench's unprotected fleet server; returns the path of the file to run with node. */
export async function buildUnprotectedServer(): Promise<string> {
  await bundle('fleet', { entry: 'bench/lib/unprotected-server.ts', format: 'esm' }, `${OUT}/unprotected-server.js`);
  // The server starts each thread from the file next to its own bundle.
  for (const [name, e] of Object.entries(entries)) if (e.thread) await bundle(name, e, `${OUT}/${name}.js`);
  return `${OUT}/unprotected-server.js`;
}
