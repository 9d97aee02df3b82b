// The bundled `fw` (dist/fw.cjs, as installed, built here into a temporary folder) on a 64 MiB bundle: a valid one
// verifies, and every kind of damage is refused with its code, as the unit tests find on the TypeScript sources.
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { tmpDir } from '../helpers/tmp.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dir = tmpDir('edgeward-fw-bundled-');
const at = (name: string) => join(dir, name);
const FW = at('fw.cjs');
const PAYLOAD_BYTES = 64 * 1024 * 1024;

function fw(...args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [FW, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}
function ok(...args: string[]): string {
  const r = fw(...args);
  assert.is(r.code, 0, `fw ${args.join(' ')}: ${r.err}${r.out}`);
  return r.out;
}

test.before(() => {
  const b = spawnSync(process.execPath, [join(root, 'scripts/build.mjs'), '--quiet', '--only', 'fw', '--outdir', dir], {
    encoding: 'utf8',
  });
  assert.is(b.status, 0, b.stderr);
  ok('keygen', '--out', at('root.key'));
  ok('keygen', '--out', at('release.key'));
  ok('trust', 'init', '--root-key', at('root.key'), '--release-key', at('release.key.pub'), '--out', at('trust.cbor'));
  const fd = openSync(at('payload.bin'), 'w');
  const block = Buffer.alloc(1024 * 1024, 0x5a);
  for (let i = 0; i < PAYLOAD_BYTES / block.length; i++) writeSync(fd, block);
  writeSync(fd, Buffer.from('tail'));
  closeSync(fd);
  ok(
    'sign',
    '--key',
    at('release.key'),
    '--payload',
    at('payload.bin'),
    '--hardware',
    'gw-1',
    '--version',
    '1.0.0',
    '--sequence',
    '2',
    '--out',
    at('good.bundle'),
  );
});

test('a valid bundle verifies: exit 0, the signer and the trust version named', () => {
  const out = JSON.parse(
    ok(
      'verify',
      at('good.bundle'),
      '--trust',
      at('trust.cbor'),
      '--hardware',
      'gw-1',
      '--installed-sequence',
      '1',
      '--json',
    ),
  ) as {
    valid: boolean;
    manifest: { size: number };
    signers: string[];
    trust: { version: number };
  };
  assert.is(out.valid, true);
  assert.is(out.manifest.size, PAYLOAD_BYTES + 4);
  assert.is(out.signers.length, 1);
  assert.is(out.trust.version, 1);
});

/** Writes a copy of the good bundle with `edit` applied; returns its path. */
function variant(name: string, edit: (b: Buffer) => void): string {
  const b = readFileSync(at('good.bundle'));
  edit(b);
  writeFileSync(at(name), b);
  return at(name);
}

const rows: Array<{ name: string; code: string; file: () => string; args?: string[] }> = [
  {
    name: 'a manifest changed after signing is refused before the payload is hashed',
    code: 'FW_SIG_INVALID',
    file: () => variant('manifest.bundle', (b) => b.write('gw-2', b.indexOf('gw-1'))),
  },
  {
    name: 'a changed payload byte',
    code: 'FW_PAYLOAD_DIGEST',
    file: () => variant('payload.bundle', (b) => b.writeUInt8(b.readUInt8(b.length - 1) ^ 1, b.length - 1)),
  },
  {
    name: 'a rollback is refused before hashing',
    code: 'FW_ROLLBACK',
    file: () => at('good.bundle'),
    args: ['--installed-sequence', '2'],
  },
  {
    name: 'a changed manifest that also names other hardware reports the signature first',
    code: 'FW_SIG_INVALID',
    file: () => variant('both.bundle', (b) => b.write('gw-2', b.indexOf('gw-1'))),
    args: ['--hardware', 'gw-1'],
  },
];
for (const row of rows) {
  test(`${row.code}: ${row.name}`, () => {
    const r = fw('verify', row.file(), '--trust', at('trust.cbor'), ...(row.args ?? []), '--json');
    assert.is(r.code, 1, r.err + r.out);
    const out = JSON.parse(r.out) as { valid: boolean; code: string };
    assert.is(out.valid, false);
    assert.is(out.code, row.code);
  });
}

test.run();
