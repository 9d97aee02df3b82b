// The agent checks its identity at start: each broken identity makes `iot-agent run` exit 1 with AGENT_IDENTITY
// before it touches the state folder, instead of retrying a refused connection for ever.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadCa } from '../../broker/src/fleet/data-dir.js';
import { issueDeviceCert, parseCertificate } from '../../broker/src/pki/x509.js';
import { type AgentError, loadCredentials, parseAgentConfig } from '../../agent/src/index.js';
import { createTestFleet, waitFor, type TestFleet } from '../helpers/fleet.js';
import { startAgentProcess, writeAgentConfig } from '../helpers/agent-process.js';
import { agentCli } from '../helpers/run.js';
import { tmpDir } from '../helpers/tmp.js';

const DAY = 86_400_000;
let fleet: TestFleet;
const root = tmpDir('edgeward-identity-');

test.before(async () => {
  fleet = await createTestFleet(['gw-001', 'gw-002']);
});
test.after(async () => {
  await fleet.close();
});

/** A device folder with gw-001's credentials, then `change` applied; returns its agent.json. */
function deviceFolder(name: string, change: (dir: string) => void | Promise<void>, deviceId = 'gw-001') {
  const dir = join(root, name);
  mkdirSync(dir);
  for (const f of ['device.key', 'device.crt', 'ca.crt', 'seal.key', 'backend-seal.pub'])
    copyFileSync(join(fleet.deviceDir('gw-001'), f), join(dir, f));
  return Promise.resolve(change(dir)).then(() =>
    writeAgentConfig(dir, {
      server: 'mqtts://127.0.0.1:1',
      deviceId,
      cert: 'device.crt',
      key: 'device.key',
      ca: 'ca.crt',
      stateDir: 'state',
      scan: { enabled: false },
    }),
  );
}

/** gw-001's key under a certificate from the fleet CA valid from `from` for `days`. */
async function reissue(dir: string, from: number, days: number) {
  const ca = await loadCa(fleet.dataDir);
  const publicKey = parseCertificate(readFileSync(join(dir, 'device.crt'), 'utf8')).publicKey;
  const cert = await issueDeviceCert(ca, 'gw-001', publicKey, days, from);
  writeFileSync(join(dir, 'device.crt'), cert.toString('pem'));
}

const cases: [string, (dir: string) => void | Promise<void>, RegExp, string?][] = [
  ['garbage key', (d) => writeFileSync(join(d, 'device.key'), 'garbage\n'), /device key .* is not a PEM private key/],
  [
    'key of another certificate',
    (d) => copyFileSync(join(fleet.deviceDir('gw-002'), 'device.key'), join(d, 'device.key')),
    /is not the key of the certificate/,
  ],
  ['deviceId other than the CN', () => {}, /is for CN=gw-001, but deviceId is gw-009/, 'gw-009'],
  ['expired certificate', (d) => reissue(d, Date.now() - 30 * DAY, 10), /expired on .*renew it/],
  ['certificate not yet valid', (d) => reissue(d, Date.now() + 30 * DAY, 10), /is not valid before .*clock/],
];

for (const [name, change, message, deviceId] of cases) {
  test(`iot-agent run with a ${name} exits 1 with AGENT_IDENTITY`, async () => {
    const file = await deviceFolder(name.replace(/\W+/g, '-'), change, deviceId);
    const r = await agentCli(['run', '--config', file], { timeoutMs: 15_000 });
    assert.is(r.code, 1, `exit code (null: still running after 15 s)\n${r.output}`);
    const line = r.stderr.split('\n').find((l) => l.startsWith('error '));
    assert.match(line ?? '', /^error AGENT_IDENTITY: /, r.output);
    assert.match(line ?? '', message);
    assert.not.ok(existsSync(join(file, '..', 'state')), 'refused before the state folder is made');
  });
}

test('iot-agent run with a good identity passes the checks and connects', async () => {
  await fleet.start();
  const file = await deviceFolder('good', () => {});
  writeAgentConfig(join(file, '..'), { ...JSON.parse(readFileSync(file, 'utf8')), server: fleet.url() });
  const p = startAgentProcess(file);
  try {
    await waitFor(() => fleet.server.registry.get('gw-001')?.online, 'gw-001 online', 15_000).catch((err: Error) => {
      throw new Error(`${err.message}\n${p.output()}`);
    });
  } finally {
    assert.is(await p.kill('SIGTERM'), 0, p.output());
  }
});

test('loadCredentials accepts a good identity and refuses it under another deviceId', () => {
  const config = fleet.agentConfig('gw-001', { server: 'mqtts://127.0.0.1:1' });
  const tls = loadCredentials(config, Date.now());
  assert.ok(Buffer.from(tls.cert).toString().includes('BEGIN CERTIFICATE'));
  const other = parseAgentConfig({ ...config, deviceId: 'gw-002' });
  assert.throws(
    () => loadCredentials(other, Date.now()),
    (e: AgentError) => e.code === 'AGENT_IDENTITY' && /CN=gw-001/.test(e.message),
  );
});

test.run();
