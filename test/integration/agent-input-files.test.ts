// Paths the agent must refuse at once instead of hanging on: a FIFO as the config, the certificate or an operator
// key, and a state folder under /proc (where Node's recursive mkdir never returns). And files it must refuse with
// a reason that names them: a state folder that is a file or on a read-only disk, a CA that is not a certificate,
// a config that is a folder or too large. Real CLI, bounded waits.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeAgentConfig } from '../helpers/agent-process.js';
import { createTestFleet, type TestFleet } from '../helpers/fleet.js';
import { mountTmpfs, unmountAll } from '../helpers/mounts.js';
import { agentCli } from '../helpers/run.js';
import { tmpDir } from '../helpers/tmp.js';

let fleet: TestFleet;
const root = tmpDir('edgeward-inputs-');
const fifo = join(root, 'fifo');

test.before(async () => {
  fleet = await createTestFleet(['gw-input']);
  execFileSync('mkfifo', [fifo]);
});
test.after(async () => {
  await fleet.close();
});

/** A config for gw-input (absolute credential paths) with `overrides`, in its own folder. */
function config(name: string, overrides: Record<string, unknown>): string {
  const dir = join(root, name);
  mkdirSync(dir);
  const d = fleet.deviceDir('gw-input');
  return writeAgentConfig(dir, {
    server: 'mqtts://127.0.0.1:1',
    deviceId: 'gw-input',
    cert: join(d, 'device.crt'),
    key: join(d, 'device.key'),
    ca: join(d, 'ca.crt'),
    seal: { key: join(d, 'seal.key'), backendKey: join(d, 'backend-seal.pub') },
    stateDir: join(dir, 'state'),
    scan: { enabled: false },
    ...overrides,
  });
}

/** Runs the CLI (killed after 15 s), asserts exit code 1 and returns stderr from its `error …` line on. */
async function refused(args: string[]): Promise<string> {
  const r = await agentCli(args, { timeoutMs: 15_000 });
  assert.is(r.code, 1, `exit code (null: still blocked after 15 s)\n${r.output}`);
  return r.stderr.slice(Math.max(0, r.stderr.search(/^error /m)));
}

test('a FIFO as --config is refused (run and status), not read for ever', async () => {
  for (const command of ['run', 'status']) {
    const line = await refused([command, '--config', fifo]);
    assert.match(line, /^error AGENT_CONFIG_UNREADABLE: .*fifo: it is a FIFO/, command);
  }
});

test('a FIFO as the device certificate is refused', async () => {
  const line = await refused(['run', '--config', config('cert-fifo', { cert: fifo })]);
  assert.match(line, /^error AGENT_CREDENTIALS: cannot read the device certificate: .*fifo: it is a FIFO/);
});

test('a FIFO as an operator key file is refused', async () => {
  const file = config('operator-fifo', { operators: [{ name: 'ops', publicKey: fifo, allow: ['*'] }] });
  const line = await refused(['run', '--config', file]);
  assert.match(line, /^error AGENT_CONFIG_INVALID: .*\n.*operators\[0\]\.publicKey: .*fifo: it is a FIFO/);
});

test('a state folder under /proc is refused', async () => {
  const line = await refused(['run', '--config', config('proc', { stateDir: '/proc/edgeward-test/state' })]);
  assert.match(line, /^error AGENT_STATE_DIR: .*\/proc\/edgeward-test\/state.*proc file system/);
});

test('a state folder that is a regular file: AGENT_STATE_DIR, not a bare EEXIST', async () => {
  const file = join(root, 'state-is-a-file');
  writeFileSync(file, 'not a folder\n');
  const line = await refused(['run', '--config', config('state-file', { stateDir: file })]);
  assert.match(line, /^error AGENT_STATE_DIR: the state folder .*state-is-a-file is not a folder; check stateDir/);
});

test('a state folder on a read-only disk: AGENT_STATE_DIR naming the read-only file system', async () => {
  const mount = mountTmpfs('ro,size=1m');
  if ('skip' in mount) {
    assert.not.ok(process.env.CI === 'true', mount.skip);
    console.log(`SKIP ${mount.skip}`);
    return;
  }
  try {
    const line = await refused(['run', '--config', config('state-ro', { stateDir: join(mount.dir, 'state') })]);
    assert.match(line, /^error AGENT_STATE_DIR: .*state.*EROFS/);
  } finally {
    unmountAll();
  }
});

test('a CA file that is not a certificate: AGENT_CREDENTIALS naming the file', async () => {
  const ca = join(root, 'garbage-ca.pem');
  writeFileSync(ca, 'not a certificate\n');
  const line = await refused(['run', '--config', config('ca-garbage', { ca })]);
  assert.match(line, /^error AGENT_CREDENTIALS: .*garbage-ca\.pem is not a PEM certificate/);
});

test('a config that is a folder, or larger than 1 MB: AGENT_CONFIG_UNREADABLE', async () => {
  const folder = join(root, 'config-folder');
  mkdirSync(folder);
  const big = join(root, 'big.json');
  writeFileSync(big, `{"pad":"${'x'.repeat(1_000_001)}"}`);
  for (const [file, why] of [
    [folder, /config-folder.*folder/],
    [big, /big\.json.*(larger|too large|bytes)/],
  ] as const) {
    for (const command of ['run', 'status']) {
      const line = await refused([command, '--config', file]);
      assert.match(line, /^error AGENT_CONFIG_UNREADABLE: /, `${command} ${file}`);
      assert.match(line, why, `${command} ${file}`);
    }
  }
});

test.run();
