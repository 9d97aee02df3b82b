// `fleet-sim run` as a user runs it: worker processes, the summary table, the --json result file, exit codes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkResult } from '../../simulator/src/index.js';
import { createTestFleet, type TestFleet } from '../helpers/fleet.js';
import { runCliSource } from '../helpers/run.js';
import { tmpDir } from '../helpers/tmp.js';

const sim = (args: string[]) => runCliSource('simulator/src/main.ts', args, { timeoutMs: 120_000 });
let fleet: TestFleet;

test.before(async () => {
  fleet = await createTestFleet();
  await fleet.start();
});
test.after(async () => fleet?.close());

test('run with 2 worker processes: summary on stdout, a valid JSON result, exit 0', async () => {
  const json = join(tmpDir(), 'result.json');
  const r = await sim([
    'run',
    '--server',
    fleet.url(),
    '--server-api',
    `https://127.0.0.1:${fleet.server.httpPort}`,
    '--data',
    fleet.dataDir,
    '--devices',
    '60',
    '--scenario',
    'steady',
    '--duration',
    '2s',
    '--telemetry-interval',
    '1s',
    '--workers',
    '2',
    '--ramp',
    '300/s',
    '--json',
    json,
  ]);
  assert.is(r.code, 0, r.output);
  assert.match(r.stdout, /connected \(peak\)\s+60/);
  assert.match(r.stdout, /every invariant held/);
  const result = checkResult(JSON.parse(readFileSync(json, 'utf8')));
  assert.is(result.workers, 2);
  assert.is(result.connected, 60);
  assert.is(result.lost, 0);
  assert.is(result.messagesStored, result.messagesSent);
  assert.ok(result.memory.simulatorRssBytes > 0 && result.memory.perDeviceBytes > 0);
  // Both workers ran devices: the server saw connections from two processes' worth of source addresses.
  const devices = fleet.db
    .prepare(`SELECT count(DISTINCT device_id) FROM connections WHERE device_id LIKE 'sim-%'`)
    .pluck()
    .get();
  assert.is(devices, 60);
});

test('usage errors exit 2: rollout without release, unknown scenario, bad --settle, remote, missing flag', async () => {
  const base = ['run', '--data', fleet.dataDir, '--devices', '5'];
  const rollout = await sim([...base, '--server', fleet.url(), '--scenario', 'rollout']);
  assert.is(rollout.code, 2);
  assert.match(rollout.stderr, /rollout scenario needs --release BUNDLE/);
  const unknown = await sim([...base, '--server', fleet.url(), '--scenario', 'stampede']);
  assert.is(unknown.code, 2);
  assert.match(unknown.stderr, /unknown scenario "stampede"/);
  const badRate = await sim([...base, '--server', fleet.url(), '--scenario', 'steady', '--fail-rate', '150%']);
  assert.is(badRate.code, 2);
  assert.match(badRate.stderr, /--fail-rate must be a percentage/);
  const badSettle = await sim([...base, '--server', fleet.url(), '--scenario', 'steady', '--settle', 'soon']);
  assert.is(badSettle.code, 2);
  assert.match(badSettle.stderr, /invalid --settle "soon": use a number with ms, s, m, h or d/);
  const remote = await sim([...base, '--server', 'mqtts://192.0.2.10:8883', '--scenario', 'steady']);
  assert.is(remote.code, 2);
  assert.match(remote.stderr, /loopback.*--allow-remote/s);
  const missing = await sim(['run', '--devices', '5', '--scenario', 'steady']);
  assert.is(missing.code, 2);
  const help = await sim(['run', '--help']);
  assert.is(help.code, 0);
  assert.match(help.stdout, /reconnect-storm/);
});

test('--trust that is a folder, a FIFO, too big or missing: a clear error naming it, exit 1, nothing run', async () => {
  const dir = tmpDir();
  const fifo = join(dir, 'trust.fifo');
  execFileSync('mkfifo', [fifo]);
  const big = join(dir, 'big.cbor');
  writeFileSync(big, Buffer.alloc(64 * 1024 + 1));
  const cases: [string, RegExp][] = [
    [dir, /FILE_IO: cannot read .*: it is a folder/],
    [fifo, /FILE_IO: cannot read .*: it is a FIFO/],
    [big, /FILE_IO: cannot read .*: 65537 bytes, more than the 65536 allowed/],
    [join(dir, 'missing.cbor'), /FILE_IO: cannot read .*missing\.cbor: ENOENT/],
  ];
  for (const [trust, message] of cases) {
    const r = await sim([
      'run',
      '--server',
      fleet.url(),
      '--data',
      fleet.dataDir,
      '--devices',
      '1',
      '--scenario',
      'rollout',
      '--release',
      join(dir, 'fw.ewfw'),
      '--trust',
      trust,
    ]);
    assert.is(r.code, 1, r.output);
    assert.match(r.output, message);
  }
});

test.run();
