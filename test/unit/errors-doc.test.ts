// Keeps docs/errors.md and every part's errors.ts in step: each registry export named *Codes is checked.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
// Each part's errors.ts, plus shared's public face (which re-exports every shared registry).
const sources = [
  'shared/src/index.ts',
  ...['shared', 'broker', 'agent', 'firmware-tools', 'simulator'].map((p) => `${p}/src/errors.ts`),
];

async function codeRegistries(): Promise<Map<string, string>> {
  const codes = new Map<string, string>([['USAGE', 'shared/src/cli/args.ts']]);
  for (const source of sources) {
    if (!existsSync(`${root}${source}`)) continue;
    const mod = (await import(`${root}${source}`)) as Record<string, unknown>;
    for (const [name, value] of Object.entries(mod)) {
      if (!name.endsWith('Codes') || typeof value !== 'object' || value === null) continue;
      for (const code of Object.keys(value)) codes.set(code, source);
    }
  }
  return codes;
}

test('every code in the source is documented, and every documented code exists', async () => {
  const doc = readFileSync(`${root}docs/errors.md`, 'utf8');
  const documented = new Set([...doc.matchAll(/^\| `([A-Z][A-Z0-9_]+)` \|/gm)].map((m) => m[1]!));
  const codes = await codeRegistries();
  const missing = [...codes.keys()].filter((c) => !documented.has(c));
  const stale = [...documented].filter((c) => !codes.has(c));
  assert.equal(missing, [], `codes missing from docs/errors.md: ${missing.join(', ')}`);
  assert.equal(stale, [], `docs/errors.md lists codes that no errors.ts defines: ${stale.join(', ')}`);
});

test.run();
