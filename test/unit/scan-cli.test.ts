// `iot-agent scan` argument handling and the --fail-under gate, with the scan itself injected.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { UsageError } from '../../shared/src/index.js';
import { parseScanArgs, sampleReport, scanCommand, ScanError, type ScanOptions } from '../../agent/src/scan/index.js';
import type { ExposureReport } from '../../shared/src/messages/exposure.js';

function rng(seed: number) {
  return () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
}

function harness(report: ExposureReport | Error) {
  const out: string[] = [];
  const err: string[] = [];
  const files = new Map<string, string>();
  let seen: ScanOptions | undefined;
  return {
    out,
    err,
    files,
    options: () => seen,
    io: {
      stdout: (t: string) => void out.push(t),
      stderr: (t: string) => void err.push(t),
      writeFile: async (p: string, t: string) => void files.set(p, t),
      runScan: async (o: ScanOptions) => {
        seen = o;
        if (report instanceof Error) throw report;
        return report;
      },
    },
  };
}

const usage = async (argv: string[]) => {
  try {
    await scanCommand(argv, harness(sampleReport('gw-0001', rng(1))).io);
    return 'no error';
  } catch (e) {
    return e instanceof UsageError ? 'usage' : String(e);
  }
};

test('defaults: listening sockets, table format, no gate', () => {
  const p = parseScanArgs([]);
  assert.equal(p.options, { ports: 'listening' });
  assert.is(p.format, 'table');
  assert.is(p.failUnder, undefined);
});

test('flags map onto scan options', () => {
  const p = parseScanArgs([
    '--target',
    '127.0.0.1',
    '--ports',
    '22,1880-1881,udp:1900',
    '--timeout',
    '5s',
    '--probe-timeout',
    '800ms',
    '--concurrency',
    '4',
    '--no-credential-checks',
    '--llm-probes',
    'all',
    '--device-id',
    'gw-7',
    '--fail-under',
    '70',
  ]);
  assert.equal(p.options, {
    ports: [
      { transport: 'tcp', port: 22 },
      { transport: 'tcp', port: 1880 },
      { transport: 'tcp', port: 1881 },
      { transport: 'udp', port: 1900 },
    ],
    target: '127.0.0.1',
    credentialChecks: false,
    llmProbes: 'all',
    timeoutMs: 5000,
    probeTimeoutMs: 800,
    concurrency: 4,
    deviceId: 'gw-7',
  });
  assert.is(p.failUnder, 70);
});

test('the --out extension picks the format unless --format says otherwise', () => {
  assert.is(parseScanArgs(['--out', 'r.sarif']).format, 'sarif');
  assert.is(parseScanArgs(['--out', 'r.json']).format, 'json');
  assert.is(parseScanArgs(['--out', 'r.txt']).format, 'table');
  assert.is(parseScanArgs(['--out', 'r.json', '--format', 'table']).format, 'table');
});

test('usage errors (exit 2)', async () => {
  for (const argv of [
    ['--bogus'],
    ['extra'],
    ['--format', 'xml'],
    ['--fail-under', '101'],
    ['--fail-under', 'high'],
    ['--ports', '0'],
    ['--ports', '80-70'],
    ['--ports', 'tcp:99999'],
    ['--ports', '1-5000'],
    ['--timeout', 'soon'],
    ['--timeout', '0'],
    ['--concurrency', '0'],
    ['--device-id', 'Not Valid'],
    ['--allow-remote', '--target', '192.0.2.10'],
    ['--llm-probes', 'some'],
  ]) {
    assert.is(await usage(argv), 'usage', argv.join(' '));
  }
});

test('a remote target without --allow-remote is a usage error', async () => {
  const h = harness(new ScanError('SCAN_TARGET_REMOTE', "192.0.2.10 is not one of this host's addresses"));
  try {
    await scanCommand(['--target', '192.0.2.10', '--ports', '80'], h.io);
    assert.unreachable();
  } catch (e) {
    assert.instance(e, UsageError);
    assert.match((e as Error).message, /not one of this host/);
  }
});

test('--fail-under: 0 at or above the threshold, 3 below it', async () => {
  const report = { ...sampleReport('gw-0001', rng(2)), score: 72, grade: 'C' as const };
  for (const [threshold, code] of [
    ['72', 0],
    ['0', 0],
    ['73', 3],
    ['100', 3],
  ] as const) {
    const h = harness(report);
    assert.is(
      await scanCommand(['--fail-under', threshold, '--format', 'json'], h.io),
      code,
      `--fail-under ${threshold}`,
    );
    assert.equal(JSON.parse(h.out.join('')), report);
    if (code === 3) assert.match(h.err.join(''), /score 72 is below --fail-under 73|below --fail-under 100/);
  }
  assert.is(await scanCommand([], harness(report).io), 0, 'no gate, no failure');
});

test('--out writes the file and prints a summary on stderr', async () => {
  const report = sampleReport('gw-0001', rng(4));
  const h = harness(report);
  assert.is(await scanCommand(['--out', 'report.sarif'], h.io), 0);
  assert.is(h.out.length, 0);
  assert.is(JSON.parse(h.files.get('report.sarif')!).version, '2.1.0');
  assert.match(
    h.err.join(''),
    new RegExp(`score ${report.score}/100 \\(grade ${report.grade}\\).*sarif report written to report\\.sarif`),
  );
});

test('the table names the score, every service and every finding', async () => {
  const report = sampleReport('gw-0001', rng(6));
  const h = harness(report);
  await scanCommand([], h.io);
  const text = h.out.join('');
  assert.match(text, new RegExp(`Score ${report.score}/100, grade ${report.grade}`));
  for (const s of report.services) assert.ok(text.includes(`${s.transport}/${s.port}`));
  for (const f of report.findings) assert.ok(text.includes(f.evidence.slice(0, 40)), f.check);
});

test.run();
