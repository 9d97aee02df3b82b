// The attack matrix: each attempt (made with mosquitto clients, openssl or raw sockets) must be denied,
// written to the audit log and counted in /metrics — while an honest device keeps sending telemetry.
import { test as uvu } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { connect as netConnect } from 'node:net';
import { join } from 'node:path';
import { createAgent, type Agent } from '../../agent/src/index.js';
import { parseFleetConfig } from '../../broker/src/config.js';
import { createRegistry } from '../../broker/src/db/registry.js';
import { createTokenStore } from '../../broker/src/db/tokens.js';
import { loadCa } from '../../broker/src/fleet/data-dir.js';
import { generateKeyPair, issueDeviceCert, privateKeyPem } from '../../broker/src/pki/x509.js';
import { deviceTopic, encode } from '../../shared/src/index.js';
import { createCsr, generateKeyPair as makeKeys } from '../../shared/src/x509.js';
import { createTestFleet, testLogger, waitFor, type TestFleet } from '../helpers/fleet.js';
import { testWithPeers } from '../helpers/peers.js';
import { run } from '../helpers/run.js';
import { tmpDir } from '../helpers/tmp.js';

const test = testWithPeers(['mosquitto_pub', 'mosquitto_sub', 'openssl'], 'apt-get install mosquitto-clients openssl');
const work = tmpDir();
let fleet: TestFleet;
let honest: Agent;
const latencies: number[] = [];
let attempts = 0;

uvu.before(async () => {
  fleet = await createTestFleet(['gw-honest', 'gw-att', 'gw-rev']);
  await fleet.addDevice('gw-flood', { deviceType: 'limited' });
  createRegistry(fleet.db).revoke('gw-rev');
  const config = parseFleetConfig({
    deviceTypes: {
      limited: {
        messagesPerSecond: 20,
        burstMessages: 20,
        bytesPerSecond: 100_000,
        burstBytes: 100_000,
        disconnectAfterSeconds: 1,
      },
    },
    limits: { maxPacketBytes: 64 * 1024, connectionBurstPerAddress: 60, connectionsPerMinutePerAddress: 120 },
  });
  await fleet.start({
    config,
    auditWindowMs: 0,
    onStored: (e) => {
      if (e.deviceId === 'gw-honest' && e.kind === 'telemetry')
        for (const s of e.message.samples) latencies.push(e.storedAt - s.ts);
    },
  });
  honest = await createAgent({
    config: fleet.agentConfig('gw-honest', { telemetryIntervalSeconds: 1 }),
    log: testLogger(),
  });
  await waitFor(() => honest.stats().lastAckedSequence >= 1, 'honest device online');
});

uvu.after(async () => {
  await honest?.close();
  await fleet?.close();
});

const auditCount = (event: string, reason?: string) =>
  fleet.db
    .prepare(`SELECT count(*) FROM audit WHERE event = ? AND (? IS NULL OR json_extract(detail, '$.reason') = ?)`)
    .pluck()
    .get(event, reason ?? null, reason ?? null) as number;

function mosq(id: string, certOf = id): string[] {
  const d = fleet.deviceDir(certOf);
  return [
    '-h',
    '127.0.0.1',
    '-p',
    String(fleet.server.mqttPort),
    '--cafile',
    join(d, 'ca.crt'),
    '--cert',
    join(d, 'device.crt'),
    '--key',
    join(d, 'device.key'),
    '-i',
    id,
    '-V',
    'mqttv311',
    '-d',
  ];
}
const pub = (args: string[]) => run('mosquitto_pub', [...args, '-q', '1', '-m', 'x'], { timeoutMs: 10_000 });
const sub = (args: string[]) => run('mosquitto_sub', [...args, '-q', '1', '-W', '1'], { timeoutMs: 10_000 });

interface Attempt {
  readonly name: string;
  readonly event: string;
  readonly reason?: string;
  readonly metric?: { kind: string; reason?: string } | 'disconnects' | 'enrollments';
  run(): Promise<void>;
}

function https(body: unknown): Promise<number> {
  return new Promise((resolve, reject) => {
    const ca = fleet.credentials('gw-att').ca;
    const req = request(
      `https://127.0.0.1:${fleet.server.httpPort}/v1/enroll`,
      { method: 'POST', ca, headers: { 'content-type': 'application/json' } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode!));
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

const tokens = () => createTokenStore(fleet.db);

const attempts_: Attempt[] = [
  {
    name: 'spoofed clientId (gw-att certificate, client id gw-honest)',
    event: 'auth.denied',
    reason: 'clientid-mismatch',
    metric: { kind: 'auth', reason: 'clientid-mismatch' },
    async run() {
      const r = await pub([...mosq('gw-honest', 'gw-att'), '-t', deviceTopic('gw-honest', 'telemetry')]);
      assert.match(r.output, /CONNACK \(5\)|not authori[sz]ed/i);
    },
  },
  {
    name: 'publish to another device telemetry',
    event: 'acl.denied',
    reason: 'foreign-topic',
    metric: { kind: 'acl', reason: 'foreign-topic' },
    async run() {
      const r = await pub([...mosq('gw-att'), '-t', deviceTopic('gw-honest', 'telemetry')]);
      assert.not.match(r.output, /received PUBACK/);
    },
  },
  {
    name: 'inject a command into another device',
    event: 'acl.denied',
    reason: 'foreign-topic',
    metric: { kind: 'acl', reason: 'foreign-topic' },
    run: async () =>
      void assert.not.match(
        (await pub([...mosq('gw-att'), '-t', deviceTopic('gw-honest', 'cmd')])).output,
        /received PUBACK/,
      ),
  },
  {
    name: 'publish into its own command topic',
    event: 'acl.denied',
    reason: 'channel-not-allowed',
    metric: { kind: 'acl', reason: 'channel-not-allowed' },
    run: async () =>
      void assert.not.match(
        (await pub([...mosq('gw-att'), '-t', deviceTopic('gw-att', 'cmd')])).output,
        /received PUBACK/,
      ),
  },
  {
    name: 'subscribe to another device commands',
    event: 'acl.denied',
    reason: 'foreign-topic',
    metric: { kind: 'acl', reason: 'foreign-topic' },
    run: async () =>
      void assert.match(
        (await sub([...mosq('gw-att'), '-t', deviceTopic('gw-honest', 'cmd')])).output,
        /Subscribed \(mid: \d+\): 128/,
      ),
  },
  {
    name: 'wildcard read #',
    event: 'acl.denied',
    reason: 'wildcard',
    metric: { kind: 'acl', reason: 'wildcard' },
    run: async () => void assert.match((await sub([...mosq('gw-att'), '-t', '#'])).output, /: 128/),
  },
  {
    name: 'wildcard read fleet/v1/+/telemetry',
    event: 'acl.denied',
    reason: 'wildcard',
    metric: { kind: 'acl', reason: 'wildcard' },
    run: async () => void assert.match((await sub([...mosq('gw-att'), '-t', 'fleet/v1/+/telemetry'])).output, /: 128/),
  },
  {
    name: 'read $SYS/#',
    event: 'acl.denied',
    reason: 'sys-topic',
    metric: { kind: 'acl', reason: 'sys-topic' },
    run: async () => void assert.match((await sub([...mosq('gw-att'), '-t', '$SYS/#'])).output, /: 128/),
  },
  {
    name: 'publish to $SYS',
    event: 'acl.denied',
    reason: 'sys-topic',
    metric: { kind: 'acl', reason: 'sys-topic' },
    run: async () =>
      void assert.not.match((await pub([...mosq('gw-att'), '-t', '$SYS/broker/x'])).output, /received PUBACK/),
  },
  {
    name: 'retained-message poisoning of its own telemetry',
    event: 'acl.denied',
    reason: 'retain-not-allowed',
    metric: { kind: 'acl', reason: 'retain-not-allowed' },
    run: async () =>
      void assert.not.match(
        (await pub([...mosq('gw-att'), '-r', '-t', deviceTopic('gw-att', 'telemetry')])).output,
        /received PUBACK/,
      ),
  },
  {
    name: 'retained-message poisoning of another device status',
    event: 'acl.denied',
    reason: 'foreign-topic',
    metric: { kind: 'acl', reason: 'foreign-topic' },
    run: async () =>
      void assert.not.match(
        (await pub([...mosq('gw-att'), '-r', '-t', deviceTopic('gw-honest', 'status')])).output,
        /received PUBACK/,
      ),
  },
  {
    name: 'a will aimed at another device status',
    event: 'auth.denied',
    reason: 'will-not-allowed',
    metric: { kind: 'auth', reason: 'will-not-allowed' },
    run: async () =>
      void assert.match(
        (
          await pub([
            ...mosq('gw-att'),
            '-t',
            deviceTopic('gw-att', 'telemetry'),
            '--will-topic',
            deviceTopic('gw-honest', 'status'),
            '--will-payload',
            'offline',
            '--will-retain',
          ])
        ).output,
        /CONNACK \(5\)|not authori[sz]ed/i,
      ),
  },
  {
    name: 'a revoked device',
    event: 'auth.denied',
    reason: 'revoked',
    metric: { kind: 'auth', reason: 'revoked' },
    run: async () =>
      void assert.match(
        (await pub([...mosq('gw-rev'), '-t', deviceTopic('gw-rev', 'telemetry')])).output,
        /CONNACK \(5\)|not authori[sz]ed/i,
      ),
  },
  {
    name: 'a CA-signed certificate for an unregistered device',
    event: 'auth.denied',
    reason: 'unregistered',
    metric: { kind: 'auth', reason: 'unregistered' },
    async run() {
      const keys = await generateKeyPair();
      const cert = await issueDeviceCert(await loadCa(fleet.dataDir), 'gw-ghost', keys.publicKey, 30);
      writeFileSync(join(work, 'ghost.key'), await privateKeyPem(keys.privateKey));
      writeFileSync(join(work, 'ghost.crt'), cert.toString('pem'));
      const args = mosq('gw-ghost', 'gw-att').map((a) =>
        a.endsWith('device.crt') ? join(work, 'ghost.crt') : a.endsWith('device.key') ? join(work, 'ghost.key') : a,
      );
      assert.match(
        (await pub([...args, '-t', deviceTopic('gw-ghost', 'telemetry')])).output,
        /CONNACK \(5\)|not authori[sz]ed/i,
      );
    },
  },
  {
    name: 'an oversize packet',
    event: 'limit.packet',
    reason: 'too-large',
    metric: 'disconnects',
    async run() {
      writeFileSync(join(work, 'big.bin'), Buffer.alloc(200 * 1024, 1));
      const r = await run(
        'mosquitto_pub',
        [...mosq('gw-att'), '-t', deviceTopic('gw-att', 'telemetry'), '-q', '1', '-f', join(work, 'big.bin')],
        { timeoutMs: 10_000 },
      );
      assert.not.match(r.output, /received PUBACK/);
    },
  },
  {
    name: 'a plaintext connection to the TLS port',
    event: 'tls.denied',
    metric: { kind: 'tls' },
    async run() {
      await new Promise<void>((resolve) => {
        const s = netConnect(fleet.server.mqttPort, '127.0.0.1', () =>
          s.write(Buffer.from([0x10, 0x0c, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x02, 0x00, 0x3c, 0x00, 0x00])),
        );
        s.on('data', () => {});
        s.on('error', () => resolve());
        s.on('close', () => resolve());
      });
    },
  },
  ...(['-tls1', '-tls1_1'] as const).map(
    (flag): Attempt => ({
      name: `TLS ${flag === '-tls1' ? '1.0' : '1.1'} offered`,
      event: 'tls.denied',
      metric: { kind: 'tls' },
      async run() {
        const d = fleet.deviceDir('gw-att');
        const r = await run(
          'openssl',
          [
            's_client',
            '-connect',
            `127.0.0.1:${fleet.server.mqttPort}`,
            flag,
            '-cipher',
            'DEFAULT@SECLEVEL=0',
            '-cert',
            join(d, 'device.crt'),
            '-key',
            join(d, 'device.key'),
            '-CAfile',
            join(d, 'ca.crt'),
          ],
          { timeoutMs: 10_000 },
        );
        assert.not.equal(r.code, 0);
        assert.match(r.output, /alert|handshake failure|no protocols available|wrong version|unsupported/i);
      },
    }),
  ),
  {
    name: 'no client certificate',
    event: 'tls.denied',
    metric: { kind: 'tls' },
    run: async () =>
      void assert.not.match(
        (
          await pub([
            '-h',
            '127.0.0.1',
            '-p',
            String(fleet.server.mqttPort),
            '--cafile',
            join(fleet.deviceDir('gw-att'), 'ca.crt'),
            '-i',
            'gw-att',
            '-d',
            '-t',
            deviceTopic('gw-att', 'telemetry'),
          ])
        ).output,
        /CONNACK \(0\)/,
      ),
  },
  {
    name: 'a reused enrolment token',
    event: 'enroll.denied',
    reason: 'token-used',
    metric: { kind: 'enroll', reason: 'token-used' },
    async run() {
      const {
        tokens: [t],
      } = tokens().create(1, 3600_000, 'default');
      assert.is(await https({ token: t, id: 'gw-new-1', csr: await createCsr('gw-new-1', await makeKeys()) }), 201);
      assert.is(await https({ token: t, id: 'gw-new-2', csr: await createCsr('gw-new-2', await makeKeys()) }), 401);
    },
  },
  {
    name: 'an expired enrolment token',
    event: 'enroll.denied',
    reason: 'token-expired',
    metric: { kind: 'enroll', reason: 'token-expired' },
    async run() {
      const {
        tokens: [t],
      } = tokens().create(1, 60_000, 'default', Date.now() - 3600_000);
      assert.is(await https({ token: t, id: 'gw-new-3', csr: await createCsr('gw-new-3', await makeKeys()) }), 401);
    },
  },
  {
    name: 'a CSR whose CN differs from the requested id',
    event: 'enroll.denied',
    reason: 'csr-cn-mismatch',
    metric: { kind: 'enroll', reason: 'csr-cn-mismatch' },
    async run() {
      const {
        tokens: [t],
      } = tokens().create(1, 3600_000, 'default');
      assert.is(await https({ token: t, id: 'gw-new-4', csr: await createCsr('gw-honest', await makeKeys()) }), 400);
    },
  },
  {
    name: 'a publish flood',
    event: 'rate.disconnected',
    reason: 'rate',
    metric: 'disconnects',
    async run() {
      const c = await fleet.connect('gw-flood');
      const closed = new Promise<void>((r) => c.once('close', () => r()));
      let seq = 1;
      const flood = () => {
        for (let i = 0; i < 200 && c.connected; i++) {
          const n = seq++;
          c.publish(
            deviceTopic('gw-flood', 'telemetry'),
            encode({
              v: 1,
              id: `flood-${n}-xx`,
              ts: Date.now(),
              stream: 'flood-stream',
              samples: [{ seq: n, ts: Date.now(), m: { x: n } }],
            }),
            { qos: 1 },
          );
        }
      };
      flood();
      const timer = setInterval(flood, 50);
      await closed;
      clearInterval(timer);
      c.end(true);
      assert.ok(auditCount('rate.throttled') >= 1, 'throttled before being cut off');
    },
  },
  {
    name: 'a connect flood (from 127.0.0.2)',
    event: 'connect.throttled',
    metric: { kind: 'connect', reason: 'rate' },
    async run() {
      await Promise.all(
        Array.from(
          { length: 150 },
          () =>
            new Promise<void>((resolve) => {
              const s = netConnect({ port: fleet.server.mqttPort, host: '127.0.0.1', localAddress: '127.0.0.2' });
              s.on('error', () => resolve());
              s.on('close', () => resolve());
              s.on('connect', () => setTimeout(() => s.destroy(), 200));
            }),
        ),
      );
    },
  },
];

function metricValue(m: Attempt['metric']): number {
  const metrics = fleet.server.metrics;
  if (m === 'disconnects')
    return metrics.registry
      .render()
      .split('\n')
      .filter((l) => l.startsWith('edgeward_forced_disconnects_total{'))
      .reduce((n, l) => n + Number(l.split(' ')[1]), 0);
  if (m === 'enrollments' || !m) return 0;
  if (m.reason) return metrics.denials.get({ kind: m.kind, reason: m.reason });
  return metrics.registry
    .render()
    .split('\n')
    .filter((l) => l.startsWith(`edgeward_denials_total{kind="${m.kind}"`))
    .reduce((n, l) => n + Number(l.split(' ')[1]), 0);
}

for (const a of attempts_) {
  test(`denied, logged and counted: ${a.name}`, async () => {
    attempts++;
    const auditBefore = auditCount(a.event, a.reason);
    const metricBefore = metricValue(a.metric);
    const ackedBefore = honest.stats().lastAckedSequence;
    await a.run();
    await waitFor(
      () => auditCount(a.event, a.reason) > auditBefore,
      `${a.event}${a.reason ? `/${a.reason}` : ''} in the audit log`,
    );
    await waitFor(() => metricValue(a.metric) > metricBefore, `the ${JSON.stringify(a.metric)} metric`);
    assert.ok(honest.connected, 'the honest device is still connected');
    await waitFor(
      () => honest.stats().lastAckedSequence > ackedBefore || honest.stats().outboxDepth === 0,
      'honest telemetry still flowing',
    );
  });
}

test('the honest device kept working through the whole matrix', async () => {
  assert.ok(attempts >= 20, `${attempts} attempts`);
  const before = honest.stats().lastAckedSequence;
  await waitFor(() => honest.stats().lastAckedSequence > before, 'one more acknowledged sample');
  assert.is(
    fleet.db
      .prepare(
        `SELECT count(*) FROM audit WHERE device_id = 'gw-honest' AND event IN ('auth.denied', ` +
          `'rate.throttled', 'rate.disconnected')`,
      )
      .pluck()
      .get(),
    0,
  );
  const sorted = [...latencies].sort((x, y) => x - y);
  const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
  console.log(
    `honest device end-to-end latency during the attacks (sample time → stored): n=${sorted.length} p50=${q(0.5)} ` +
      `ms p99=${q(0.99)} ms max=${sorted.at(-1)} ms`,
  );
  const metrics = fleet.server.metrics.registry.render();
  assert.match(metrics, /edgeward_connected_devices \d+/);
});

uvu.run();
