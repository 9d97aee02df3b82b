#!/usr/bin/env node
// Benchmark: `fw verify` against `openssl dgst -sha256` on the same 256 MiB and 1 GiB payloads, wall time and
// peak RSS for each. Targets: verify ≤ 1.5× OpenSSL's wall time, ≤ 80 MB peak RSS, the same RSS at both sizes.
// Usage: npm run build && node bench/firmware-verify.mjs [--runs 3] [--sizes 256,1024] [--keep]
// Needs openssl and, for RSS, GNU time (/usr/bin/time, Debian package `time`); without it /proc is polled.
// NODE_EXTRA_CA_CERTS makes Node parse that certificate bundle at every start, before any script runs (about
// 38 ms on the development machine, where the sandbox sets it); `fw` makes no TLS connection. The targets are
// judged with `fw` started without it, as on a gateway; when it is set, a second row shows `fw` with it.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = fileURLToPath(new URL('..', import.meta.url));
const FW = join(root, 'dist/fw.cjs');
const MiB = 1024 * 1024;
const TARGET_RATIO = 1.5;
const TARGET_RSS_MB = 80;
const SAME_RSS_TOLERANCE_MB = 5; // "the same RSS for both sizes": within this much of each other

const { values: opts } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    sizes: { type: 'string', default: '256,1024' },
    keep: { type: 'boolean', default: false },
  },
});
const runs = Math.max(1, Number(opts.runs));
const sizesMiB = opts.sizes.split(',').map(Number);

if (!existsSync(FW)) {
  console.error(`missing ${FW}: run \`npm run build\` first`);
  process.exit(2);
}
if (spawnSync('openssl', ['version']).status !== 0) {
  console.error('openssl is not installed: apt-get install openssl');
  process.exit(2);
}
const GNU_TIME =
  existsSync('/usr/bin/time') && spawnSync('/usr/bin/time', ['-f', '%M', 'true']).status === 0
    ? '/usr/bin/time'
    : undefined;
if (!GNU_TIME)
  console.error('note: /usr/bin/time not found (apt-get install time); polling /proc/PID/status VmHWM instead');

function run(cmd, args) {
  const r = spawnSync(process.execPath, [FW, cmd, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`fw ${cmd} failed (${r.status}): ${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** Runs a command; resolves with wall seconds, peak RSS in MB and stdout. */
const EXTRA_CA = process.env.NODE_EXTRA_CA_CERTS;
const cleanEnv = { ...process.env };
delete cleanEnv.NODE_EXTRA_CA_CERTS;

function measure(command, args, env = process.env) {
  return new Promise((resolve, reject) => {
    const argv = GNU_TIME ? [GNU_TIME, '-f', '__RSS_KB=%M', command, ...args] : [command, ...args];
    const t0 = process.hrtime.bigint();
    const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env });
    let out = '';
    let err = '';
    let hwmKb = 0;
    const poll = GNU_TIME
      ? undefined
      : setInterval(() => {
          try {
            const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
            if (m) hwmKb = Math.max(hwmKb, Number(m[1]));
          } catch {
            // the process has exited
          }
        }, 5);
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const wall = Number(process.hrtime.bigint() - t0) / 1e9;
      if (poll) clearInterval(poll);
      if (code !== 0) return reject(new Error(`${command} ${args.join(' ')} exited ${code}: ${err}${out}`));
      const rssKb = GNU_TIME ? Number(/__RSS_KB=(\d+)/.exec(err)?.[1] ?? 0) : hwmKb;
      resolve({ wall, rssMb: rssKb / 1024, out });
    });
  });
}

function writePayload(path, bytes) {
  const block = randomBytes(MiB);
  const fd = openSync(path, 'w');
  try {
    for (let off = 0, i = 0; off < bytes; off += MiB, i++) {
      block.writeUInt32LE(i, 0); // every MiB differs, so nothing is deduplicated or trivially compressible
      writeSync(fd, block, 0, Math.min(MiB, bytes - off));
    }
  } finally {
    closeSync(fd);
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const dir = mkdtempSync(join(process.env.BENCH_TMP ?? tmpdir(), 'edgeward-fw-bench-'));
const results = [];
try {
  run('keygen', ['--out', join(dir, 'root.key')]);
  run('keygen', ['--out', join(dir, 'release.key')]);
  const trust = join(dir, 'trust.cbor');
  run('trust', [
    'init',
    '--root-key',
    join(dir, 'root.key'),
    '--release-key',
    join(dir, 'release.key.pub'),
    '--out',
    trust,
  ]);

  for (const mib of sizesMiB) {
    const payload = join(dir, `payload-${mib}M.bin`);
    const bundle = join(dir, `fw-${mib}M.bundle`);
    process.stderr.write(`${mib} MiB: writing payload… `);
    writePayload(payload, mib * MiB);
    process.stderr.write('signing… ');
    const signed = await measure(process.execPath, [
      FW,
      'sign',
      '--key',
      join(dir, 'release.key'),
      '--payload',
      payload,
      '--hardware',
      'bench-hw',
      '--version',
      '1.0.0',
      '--sequence',
      '1',
      '--out',
      bundle,
    ]);
    const verifyArgs = [FW, 'verify', bundle, '--trust', trust, '--hardware', 'bench-hw', '--installed-sequence', '0'];
    const tools = {
      openssl: ['openssl', ['dgst', '-sha256', payload], process.env],
      fw: [process.execPath, verifyArgs, cleanEnv],
      ...(EXTRA_CA ? { fwExtraCa: [process.execPath, verifyArgs, process.env] } : {}),
    };
    const names = Object.keys(tools);
    process.stderr.write('warming the page cache… ');
    for (const [cmd, args, env] of Object.values(tools)) await measure(cmd, args, env);
    const samples = Object.fromEntries(names.map((n) => [n, []]));
    for (let i = 0; i < runs; i++) {
      process.stderr.write(`run ${i + 1}/${runs} `);
      // Alternate the order so neither tool always runs on a cache the other just warmed.
      for (const name of i % 2 === 0 ? names : [...names].reverse()) {
        const [cmd, args, env] = tools[name];
        const r = await measure(cmd, args, env);
        if (name !== 'openssl' && !r.out.startsWith('VALID')) throw new Error(`fw verify did not say VALID: ${r.out}`);
        samples[name].push(r);
      }
    }
    process.stderr.write('\n');
    const summary = (name) =>
      samples[name]
        ? { wall: median(samples[name].map((s) => s.wall)), rssMb: Math.max(...samples[name].map((s) => s.rssMb)) }
        : undefined;
    results.push({
      mib,
      openssl: summary('openssl'),
      fw: summary('fw'),
      fwExtraCa: summary('fwExtraCa'),
      sign: signed,
    });
    if (!opts.keep) {
      rmSync(payload, { force: true });
      rmSync(bundle, { force: true });
    }
  }
} finally {
  if (!opts.keep) rmSync(dir, { recursive: true, force: true });
  else console.error(`kept ${dir}`);
}

const pad = (s, n) => String(s).padEnd(n);
const lines = [];
lines.push(
  `fw verify vs openssl dgst -sha256 — median wall of ${runs} warm runs, max peak RSS ` +
    `(${GNU_TIME ? '/usr/bin/time -f %M' : '/proc VmHWM polling'})`,
);
lines.push(`${pad('payload', 9)}${pad('tool', 25)}${pad('wall s', 9)}${pad('MiB/s', 9)}${pad('peak RSS MB', 13)}`);
for (const r of results) {
  const rows = [
    ['openssl dgst -sha256', r.openssl],
    ['fw verify', r.fw],
    ...(r.fwExtraCa ? [['fw verify, extra CAs ¹', r.fwExtraCa]] : []),
  ];
  const row = (label, s) =>
    pad(`${r.mib} MiB`, 9) +
    pad(label, 25) +
    pad(s.wall.toFixed(3), 9) +
    pad((r.mib / s.wall).toFixed(0), 9) +
    pad(s.rssMb.toFixed(1), 13);
  for (const [label, s] of rows) lines.push(row(label, s));
  lines.push(row('(fw sign, once)', r.sign));
}
lines.push('');
let allMet = true;
for (const r of results) {
  const ratio = r.fw.wall / r.openssl.wall;
  const ok = ratio <= TARGET_RATIO;
  allMet &&= ok;
  lines.push(
    `${pad(`${r.mib} MiB`, 9)}wall ratio fw/openssl = ${ratio.toFixed(2)} (target ≤ ${TARGET_RATIO})  ` +
      `${ok ? 'met' : 'NOT MET'}`,
  );
  if (r.fwExtraCa)
    lines.push(`${pad('', 9)}with NODE_EXTRA_CA_CERTS: ${(r.fwExtraCa.wall / r.openssl.wall).toFixed(2)} ¹`);
}
for (const r of results) {
  const ok = r.fw.rssMb <= TARGET_RSS_MB;
  allMet &&= ok;
  lines.push(
    `${pad(`${r.mib} MiB`, 9)}fw verify peak RSS = ${r.fw.rssMb.toFixed(1)} MB (target ≤ ${TARGET_RSS_MB} MB) ` +
      ` ${ok ? 'met' : 'NOT MET'}`,
  );
}
if (results.length > 1) {
  const rss = results.map((r) => r.fw.rssMb);
  const spread = Math.max(...rss) - Math.min(...rss);
  const ok = spread <= SAME_RSS_TOLERANCE_MB;
  allMet &&= ok;
  lines.push(
    `RSS does not grow with the bundle: spread ${spread.toFixed(1)} MB across sizes (target ≤ ` +
      `${SAME_RSS_TOLERANCE_MB} MB)  ${ok ? 'met' : 'NOT MET'}`,
  );
}
if (EXTRA_CA) {
  lines.push(
    `¹ NODE_EXTRA_CA_CERTS=${EXTRA_CA} is set here: Node parses that bundle at every start, before any script`,
  );
  lines.push(
    '  runs. fw makes no TLS connection; the targets are judged on the row started without it, as on a gateway.',
  );
}
lines.push(allMet ? 'all targets met' : 'some targets NOT met (other load on the machine? run again)');
console.log(lines.join('\n'));
process.exitCode = allMet ? 0 : 1;
