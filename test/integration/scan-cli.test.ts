// `iot-agent scan` as a process: exit codes 0 / 3 / 2 through runCli, SARIF on disk, and the remote-target refusal.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { tmpDir } from '../helpers/tmp.js';
import { sarifValidator } from '../fixtures/scan/sarif-validator.js';
import * as S from '../fixtures/scan/services.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const services = new S.Services();
test.after(() => services.stopAll());

/** Runs the CLI in a child process (async, so the in-process servers keep answering meanwhile). */
function scan(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/scan/cli-entry.ts', ...args], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

test('--fail-under gates on the score; --out writes valid SARIF', async () => {
  const telnet = services.add(await S.startTelnetLike());
  const out = join(tmpDir('edgeward-cli-'), 'exposure.sarif');
  const below = await scan([
    '--ports',
    String(telnet.port),
    '--fail-under',
    '90',
    '--out',
    out,
    '--device-id',
    'it-cli-01',
  ]);
  assert.is(below.code, 3, below.stderr);
  assert.match(below.stderr, /score \d+\/100 \(grade [A-F]\), 1 findings on 1 services/);
  assert.match(below.stderr, /score 84 is below --fail-under 90/);
  const sarif = JSON.parse(readFileSync(out, 'utf8'));
  assert.equal(sarifValidator()(sarif), []);
  assert.is(sarif.runs[0].results[0].ruleId, 'telnet.open');

  const pass = await scan(['--ports', String(telnet.port), '--fail-under', '0', '--format', 'json']);
  assert.is(pass.code, 0, pass.stderr);
  assert.is(JSON.parse(pass.stdout).findings[0].check, 'telnet.open');
});

test('usage errors exit 2; a remote target is refused before any packet is sent', async () => {
  const bad = await scan(['--format', 'xml']);
  assert.is(bad.code, 2);
  assert.match(bad.stderr, /usage error: --format must be one of table, json, sarif/);
  const remote = await scan(['--target', '192.0.2.10', '--ports', '80']);
  assert.is(remote.code, 2);
  assert.match(remote.stderr, /not one of this host's addresses.*--allow-remote/);
});

test('--help prints the usage and exits 0', () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'test/fixtures/scan/cli-entry.ts', '--help'], {
    cwd: root,
    encoding: 'utf8',
  });
  assert.is(r.status, 0);
  assert.match(r.stdout, /Usage: iot-agent scan/);
});

test.run();
