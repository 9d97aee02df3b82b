// Benchmark: `fw sign` of a 256 MiB payload with a key file against the same with an Ed25519 key inside a SoftHSM2
// token (PKCS#11), in one run. Target: the HSM-backed sign takes at most 1.2× the file-key sign. The token signs
// only the manifest's Sig_structure (a few hundred bytes); the payload is hashed as a stream either way.
// Usage: npm run build && node --import tsx bench/hsm-sign.ts [--runs 3] [--size-mib 256] [--keep]
// Needs softhsm2 (apt-get install -y softhsm2).
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = fileURLToPath(new URL('..', import.meta.url));
const FW = join(root, 'dist/fw.cjs');
const MODULE = '/usr/lib/softhsm/libsofthsm2.so';
const MiB = 1024 * 1024;
const TARGET_RATIO = 1.2;

const { values: opts } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    'size-mib': { type: 'string', default: '256' },
    keep: { type: 'boolean', default: false },
  },
});
const runs = Math.max(1, Number(opts.runs));
const sizeMiB = Math.max(1, Number(opts['size-mib']));

if (!existsSync(FW)) {
  console.error(`missing ${FW}: run \`npm run build\` first`);
  process.exit(2);
}
if (!existsSync(MODULE) || spawnSync('softhsm2-util', ['--version']).status !== 0) {
  console.error('softhsm2 is not installed: apt-get install -y softhsm2');
  process.exit(2);
}

const dir = mkdtempSync(join(tmpdir(), 'edgeward-hsm-bench-'));
const at = (name: string) => join(dir, name);
mkdirSync(at('tokens'), { mode: 0o700 });
writeFileSync(at('softhsm2.conf'), `directories.tokendir = ${at('tokens')}\nobjectstore.backend = file\n`);
const env: NodeJS.ProcessEnv = { ...process.env, SOFTHSM2_CONF: at('softhsm2.conf') };
delete env.NODE_EXTRA_CA_CERTS; // as on a release machine: fw makes no TLS connection

function fw(args: string[]): number {
  const start = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [FW, ...args], { encoding: 'utf8', env });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== 0) throw new Error(`fw ${args[0]} failed (${r.status}): ${r.stderr}`);
  return ms;
}

try {
  const pin = randomBytes(8).toString('hex');
  const init = ['--init-token', '--free', '--label', 'bench', '--pin', pin, '--so-pin', `so-${pin}`];
  if (spawnSync('softhsm2-util', init, { env }).status !== 0) throw new Error('softhsm2-util --init-token failed');
  writeFileSync(at('pin'), pin, { mode: 0o600 });
  const uri = `pkcs11:token=bench;object=release?module-path=${MODULE}&pin-source=file:${at('pin')}`;
  fw(['keygen', '--out', at('release.key')]);
  fw(['keygen', '--out', uri, '--pub', at('hsm.pub')]);

  const fd = openSync(at('payload.bin'), 'w');
  const chunk = randomBytes(MiB);
  for (let i = 0; i < sizeMiB; i++) writeSync(fd, chunk);
  closeSync(fd);

  const sign = (key: string, out: string) =>
    fw([
      'sign',
      '--key',
      key,
      '--payload',
      at('payload.bin'),
      '--hardware',
      'gw-bench',
      '--version',
      '1.0.0',
      '--sequence',
      '1',
      '--out',
      at(out),
    ]);
  sign(at('release.key'), 'warm.bundle'); // page cache warm for both
  const file: number[] = [];
  const hsm: number[] = [];
  for (let i = 0; i < runs; i++) {
    // Alternate, so drift (other load on the machine) hits both sides alike.
    file.push(sign(at('release.key'), 'file.bundle'));
    hsm.push(sign(uri, 'hsm.bundle'));
  }
  fw(['trust', 'init', '--root-key', at('release.key'), '--release-key', at('hsm.pub'), '--out', at('trust.cbor')]);
  fw(['verify', at('hsm.bundle'), '--trust', at('trust.cbor'), '--root-key', `${at('release.key')}.pub`]);

  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  const f = median(file);
  const h = median(hsm);
  const ratio = h / f;
  console.log(`fw sign of ${sizeMiB} MiB, median of ${runs} runs (wall time, process start included)`);
  console.log(
    `  key file            ${f.toFixed(0).padStart(6)} ms   runs ${file.map((x) => x.toFixed(0)).join(', ')}`,
  );
  console.log(`  SoftHSM2 (PKCS#11)  ${h.toFixed(0).padStart(6)} ms   runs ${hsm.map((x) => x.toFixed(0)).join(', ')}`);
  console.log(
    `  ratio HSM / file    ${ratio.toFixed(3)}   target ≤ ${TARGET_RATIO}  ${ratio <= TARGET_RATIO ? 'MET' : 'MISSED'}`,
  );
  console.log('  the HSM-signed bundle verifies with fw verify');
  process.exitCode = ratio <= TARGET_RATIO ? 0 : 1;
} finally {
  if (opts.keep) console.log(`kept ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
}
