// Enrolment without shipping keys: the device makes its key, a one-time token buys one certificate.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, statSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { enroll } from '../../agent/src/enroll/enroll.js';
import { createAgent, loadAgentConfig, AgentError } from '../../agent/src/index.js';
import { createTokenStore } from '../../broker/src/db/tokens.js';
import { fleetPaths } from '../../broker/src/fleet/data-dir.js';
import { createCsr, generateKeyPair } from '../../shared/src/x509.js';
import { createTestFleet, testLogger, waitFor, type TestFleet } from '../helpers/fleet.js';
import { agentCli, fleetCli } from '../helpers/run.js';
import { tmpDir } from '../helpers/tmp.js';

let fleet: TestFleet;
let ca: string;
let tokens: ReturnType<typeof createTokenStore>;
const out = tmpDir();

test.before(async () => {
  fleet = await createTestFleet();
  await fleet.start();
  ca = readFileSync(fleetPaths(fleet.dataDir).caCert, 'utf8');
  tokens = createTokenStore(fleet.db);
});
test.after(async () => {
  await fleet.close();
});

const server = () => `https://127.0.0.1:${fleet.server.httpPort}`;
const audits = (event: string) =>
  (fleet.db.prepare('SELECT detail FROM audit WHERE event = ?').pluck().all(event) as string[]).map(
    (d) => JSON.parse(d) as Record<string, unknown>,
  );

async function refused(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    assert.instance(err, AgentError);
    return ((err as AgentError).details?.reason as string) ?? (err as AgentError).code;
  }
  throw new Error('expected a refusal');
}

test('fleet enroll-token create --json prints tokens and their expiry; only hashes are stored', async () => {
  const r = await fleetCli([
    'enroll-token',
    'create',
    '--data',
    fleet.dataDir,
    '--count',
    '3',
    '--ttl',
    '2h',
    '--device-type',
    'sensor',
    '--json',
  ]);
  assert.is(r.code, 0, r.output);
  const body = JSON.parse(r.stdout) as { tokens: string[]; expires: string };
  assert.is(body.tokens.length, 3);
  const expires = Date.parse(body.expires);
  assert.ok(expires > Date.now() + 1.9 * 3600_000 && expires < Date.now() + 2.1 * 3600_000);
  const stored = fleet.db.prepare('SELECT hash FROM enroll_tokens').pluck().all() as string[];
  for (const t of body.tokens) assert.not.ok(stored.includes(t), 'the clear token is not stored');
  const dump =
    readFileSync(join(fleet.dataDir, 'fleet.db')).toString('latin1') +
    readFileSync(join(fleet.dataDir, 'fleet.db-wal')).toString('latin1');
  for (const t of body.tokens) assert.not.ok(dump.includes(t), 'the clear token is nowhere in the database files');
});

test('a device enrols with a token, gets a working identity bound to the token device type', async () => {
  const {
    tokens: [token],
  } = tokens.create(1, 3600_000, 'sensor');
  const dir = join(out, 'gw-enrolled');
  const r = await enroll({ server: server(), token: token!, ca, deviceId: 'gw-enrolled', outDir: dir });
  assert.is(r.deviceId, 'gw-enrolled');
  assert.is((statSync(r.files.key).mode & 0o777).toString(8), '600');
  assert.is(fleet.server.registry.get('gw-enrolled')!.type, 'sensor');
  const config = loadAgentConfig(r.files.config);
  assert.is(config.server, fleet.url());
  const agent = await createAgent({ config, log: testLogger() });
  try {
    await waitFor(() => agent.stats().lastAckedSequence >= 1, 'telemetry from the enrolled device');
  } finally {
    await agent.close();
  }
  assert.ok(audits('enroll.succeeded').length >= 1);
});

test('a token works once', async () => {
  const {
    tokens: [token],
  } = tokens.create(1, 3600_000, 'default');
  await enroll({ server: server(), token: token!, ca, deviceId: 'gw-once-1', outDir: join(out, 'once1') });
  assert.is(
    await refused(enroll({ server: server(), token: token!, ca, deviceId: 'gw-once-2', outDir: join(out, 'once2') })),
    'token-used',
  );
  assert.not.ok(fleet.server.registry.exists('gw-once-2'));
});

test('an expired token is refused', async () => {
  const {
    tokens: [token],
  } = tokens.create(1, 60_000, 'default', Date.now() - 120_000);
  assert.is(
    await refused(enroll({ server: server(), token: token!, ca, deviceId: 'gw-late', outDir: join(out, 'late') })),
    'token-expired',
  );
});

function postRaw(body: unknown): Promise<{ status: number; body: Record<string, string> }> {
  return new Promise((resolve, reject) => {
    const data = Buffer.from(JSON.stringify(body));
    const req = request(
      `${server()}/v1/enroll`,
      { method: 'POST', ca, headers: { 'content-type': 'application/json' } },
      (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) }));
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

test('a CSR whose CN differs from the requested id is refused, and the token is not burned', async () => {
  const {
    tokens: [token],
  } = tokens.create(1, 3600_000, 'default');
  const csr = await createCsr('gw-victim', await generateKeyPair());
  const r = await postRaw({ token, id: 'gw-attacker', csr });
  assert.is(r.status, 400);
  assert.is(r.body.error, 'csr-cn-mismatch');
  await enroll({ server: server(), token: token!, ca, deviceId: 'gw-honest', outDir: join(out, 'honest') });
});

test('iot-agent enroll: exit 0 with a ready folder; 1 with the reason when refused; 2 on usage errors', async () => {
  const {
    tokens: [token],
  } = tokens.create(1, 3600_000, 'default');
  const caFile = fleetPaths(fleet.dataDir).caCert;
  const dir = join(out, 'cli');
  const args = ['enroll', '--server', server(), '--token', token!, '--ca', caFile, '--out', dir, '--id', 'gw-cli'];
  const ok = await agentCli(args);
  assert.is(ok.code, 0, ok.output);
  assert.match(ok.stdout, /enrolled as gw-cli/);
  assert.ok(loadAgentConfig(join(dir, 'agent.json')).deviceId === 'gw-cli');
  const again = await agentCli(args.map((a) => (a === 'gw-cli' ? 'gw-cli-2' : a)));
  assert.is(again.code, 1);
  assert.match(again.stderr, /AGENT_ENROLL_REFUSED.*token-used/);
  assert.is((await agentCli(['enroll', '--server', server(), '--ca', caFile, '--out', dir])).code, 2, 'no token');
  assert.is(
    (await agentCli(['enroll', '--server', server(), '--token', 'x', '--ca', caFile, '--out', dir, '--id', 'Bad Id']))
      .code,
    2,
  );
});

test('failed attempts are rate-limited per address, and audited', async () => {
  let last = 0;
  for (let i = 0; i < 8; i++)
    last = (await postRaw({ token: `ewt_${'A'.repeat(43)}`, id: `gw-guess-${i}`, csr: 'x' })).status;
  assert.is(last, 429);
  const reasons = audits('enroll.denied').map((d) => d.reason);
  for (const reason of ['token-used', 'token-expired', 'csr-cn-mismatch', 'rate-limited'])
    assert.ok(reasons.includes(reason), reason);
});

test.run();
