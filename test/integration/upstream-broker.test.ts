// "Bring your own broker": the fleet backend as a client of a real mosquitto (TLS, require_certificate, an ACL by
// certificate CN). Agents publish through it; the backend stores every sample once across restarts of either side;
// the broker's administrator sees only ciphertext, and what it forges or replays is refused.
import { test as uvu } from 'uvu';
import * as assert from 'uvu/assert';
import mqtt from 'mqtt';
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createAgent, createFakePlatform, type Agent } from '../../agent/src/index.js';
import { parseFleetConfig } from '../../broker/src/config.js';
import { createRegistry } from '../../broker/src/db/registry.js';
import { fleetPaths } from '../../broker/src/fleet/data-dir.js';
import type { UpstreamConfig } from '../../broker/src/server.js';
import { newCommandBody, signCommand } from '../../shared/src/commands/index.js';
import { createLogger, encodeMessage, parsePrivateKeyPem } from '../../shared/src/index.js';
import { createTestFleet, testLogger, waitFor, type TestFleet } from '../helpers/fleet.js';
import { freePort, startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { testWithPeers } from '../helpers/peers.js';
import { fleetCli, run } from '../helpers/run.js';
import { tmpDir } from '../helpers/tmp.js';

const test = testWithPeers(
  ['mosquitto', 'mosquitto_sub', 'mosquitto_pub'],
  'apt-get install mosquitto mosquitto-clients',
);
const DEVICES = ['up-001', 'up-002'];
const BACKEND = 'edgeward-backend';
const ADMIN = 'broker-admin';
let fleet: TestFleet;
let broker: Mosquitto | undefined;
let port: number;
const agents: Agent[] = [];
const dir = tmpDir('edgeward-upstream-');

uvu.after(async () => {
  for (const a of agents) await a.close();
  await broker?.stop();
  await fleet?.close();
});

/** The ACL of docs/upstream-broker.md: devices by CN (%u), the backend, an administrator with every right. */
const ACL = `user ${BACKEND}
topic read fleet/v1/+/telemetry
topic read fleet/v1/+/exposure
topic read fleet/v1/+/status
topic read fleet/v1/+/cmd/ack
topic read fleet/v1/+/update/status
topic write fleet/v1/+/cmd
topic write fleet/v1/+/update

user ${ADMIN}
topic readwrite #

pattern write fleet/v1/%u/telemetry
pattern write fleet/v1/%u/exposure
pattern write fleet/v1/%u/status
pattern write fleet/v1/%u/cmd/ack
pattern write fleet/v1/%u/update/status
pattern read fleet/v1/%u/cmd
pattern read fleet/v1/%u/update
`;

async function startBroker(): Promise<Mosquitto> {
  const p = fleetPaths(fleet.dataDir);
  writeFileSync(join(dir, 'acl'), ACL);
  return startMosquitto({
    port,
    tls: { cafile: p.caCert, certfile: p.serverCert, keyfile: p.serverKey },
    // Persistent sessions and queued messages survive a broker restart (saved at shutdown).
    extra: [
      'persistence true',
      `persistence_location ${dir}/`,
      'autosave_on_changes true',
      'autosave_interval 1',
      'max_queued_messages 0',
      'persistent_client_expiration 1d',
      `acl_file ${join(dir, 'acl')}`,
    ],
  });
}

function upstream(): UpstreamConfig {
  const c = fleet.credentials(BACKEND);
  return { url: `mqtts://127.0.0.1:${port}`, ...c, clientId: BACKEND };
}

const adminArgs = () => {
  const d = fleet.deviceDir(ADMIN);
  return [
    '-h',
    '127.0.0.1',
    '-p',
    String(port),
    '--cafile',
    join(d, 'ca.crt'),
    '--cert',
    join(d, 'device.crt'),
    '--key',
    join(d, 'device.key'),
  ];
};

const seqs = (id: string) =>
  fleet.db.prepare('SELECT seq FROM telemetry WHERE device_id = ? ORDER BY seq').pluck().all(id) as number[];

test('MQTT.js customHandleAcks holds the PUBACK until its callback, with MQTT 5 only (upstream.ts)', async () => {
  fleet = await createTestFleet([...DEVICES, BACKEND, ADMIN]);
  port = await freePort();
  broker = await startBroker();
  const c = fleet.credentials(ADMIN);
  const url = `mqtts://127.0.0.1:${port}`;
  const redelivered = async (protocolVersion: 4 | 5) => {
    const clientId = `acks-v${protocolVersion}`;
    const session = { clientId, clean: false, protocolVersion, ...c, reconnectPeriod: 0 };
    const v5 = protocolVersion === 5 ? { properties: { sessionExpiryInterval: 3600 } } : {};
    const held = await mqtt.connectAsync(url, { ...session, ...v5, customHandleAcks: () => {} } as never);
    await held.subscribeAsync(`acks/${protocolVersion}`, { qos: 1 });
    const got = new Promise<void>((resolve) => held.once('message', () => resolve()));
    const pub = await mqtt.connectAsync(url, { ...c, clientId: `pub-v${protocolVersion}`, reconnectPeriod: 0 });
    await pub.publishAsync(`acks/${protocolVersion}`, 'x', { qos: 1 });
    await pub.endAsync();
    if (protocolVersion === 4) await got;
    else await new Promise((r) => setTimeout(r, 300)); // with MQTT 5 'message' waits for the ack: nothing to await
    await held.endAsync(true);
    const again = await mqtt.connectAsync(url, { ...session, ...v5 } as never);
    const seen = await new Promise<boolean>((resolve) => {
      again.once('message', () => resolve(true));
      setTimeout(() => resolve(false), 1500);
    });
    await again.endAsync();
    return seen;
  };
  assert.ok(await redelivered(5), 'MQTT 5: the unacknowledged message is delivered again');
  assert.not.ok(await redelivered(4), 'MQTT 3.1.1: customHandleAcks is ignored, the message was acknowledged');
});

test('agents publish through mosquitto; each sample stored once across restarts of mosquitto and backend', async () => {
  await fleet.start({ upstream: upstream() });
  assert.is(fleet.server.mqttPort, 0, 'no device listener');
  for (const [i, id] of DEVICES.entries()) {
    agents.push(
      await createAgent({
        config: fleet.agentConfig(id, { server: `mqtts://127.0.0.1:${port}` }),
        platform: createFakePlatform(i + 1),
        log: testLogger(),
      }),
    );
  }
  await waitFor(() => DEVICES.every((id) => seqs(id).length >= 2), 'samples stored through mosquitto', 20_000);
  await broker!.stop();
  broker = await startBroker();
  await waitFor(() => DEVICES.every((id) => seqs(id).length >= 4), 'stored after the broker restart', 20_000);
  await fleet.server.close();
  await new Promise((r) => setTimeout(r, 2500)); // agents keep publishing; mosquitto queues for the backend
  await fleet.start({ upstream: upstream() });
  await waitFor(() => DEVICES.every((id) => seqs(id).length >= 8), 'stored after the backend restart', 20_000);
  const sent = agents.map((a) => a.stats().lastAckedSequence);
  for (const a of agents) await a.close();
  agents.length = 0;
  // Everything mosquitto acknowledged to an agent reaches the database once: no gap, no duplicate.
  await waitFor(() => DEVICES.every((id, i) => (seqs(id).at(-1) ?? 0) >= sent[i]!), 'all acknowledged stored', 20_000);
  for (const id of DEVICES) {
    const s = seqs(id);
    assert.equal(s, [...new Set(s)], `${id}: no duplicate`);
    assert.equal(
      s,
      Array.from({ length: s.length }, (_, k) => s[0]! + k),
      `${id}: no gap`,
    );
  }
});

test("the broker's administrator sees ciphertext only on #", async () => {
  const sub = run('mosquitto_sub', [...adminArgs(), '-i', 'admin-sub', '-t', '#', '-W', '4', '-F', '%t %x', '-v']);
  const agent = await createAgent({
    config: fleet.agentConfig(DEVICES[0]!, { server: `mqtts://127.0.0.1:${port}` }),
    platform: createFakePlatform(9),
    log: testLogger(),
  });
  agents.push(agent);
  const r = await sub;
  const lines = r.stdout.split('\n').filter((l) => l.startsWith('fleet/v1/'));
  assert.ok(lines.length >= 2, r.output);
  const clear = lines.map((l) => Buffer.from(l.split(' ')[1] ?? '', 'hex').toString('latin1')).join('\n');
  for (const word of ['cpuLoad1', 'temperatureC', 'online', 'metrics', 'firmware', DEVICES[0]!])
    assert.not.ok(clear.includes(word), `"${word}" in the clear on the broker`);
});

test('a message forged or replayed by the broker administrator is refused and not stored', async () => {
  const id = DEVICES[0]!;
  const topic = `fleet/v1/${id}/status`;
  const statusRows = () =>
    fleet.db.prepare('SELECT count(*) FROM status_history WHERE device_id = ?').pluck().get(id) as number;
  // Even where the config lets authenticated devices of the built-in listener send plain messages, upstream the
  // broker's administrator could send them in any device's name: refused.
  await fleet.server.close();
  await fleet.start({ upstream: upstream(), config: parseFleetConfig({ sealing: 'optional' }) });
  const before = fleet.server.metrics.sealRefused.get({ code: 'SEAL_REQUIRED' });
  const plain = Buffer.from(
    encodeMessage({ v: 1, id: randomUUID(), ts: Date.now(), state: 'online', agentVersion: '6.6.6' }),
  );
  writeFileSync(join(dir, 'forged.bin'), plain);
  const pub = await run('mosquitto_pub', [
    ...adminArgs(),
    '-i',
    'admin-pub',
    '-t',
    topic,
    '-q',
    '1',
    '-f',
    join(dir, 'forged.bin'),
  ]);
  assert.is(pub.code, 0, pub.output);
  await waitFor(
    () => fleet.server.metrics.sealRefused.get({ code: 'SEAL_REQUIRED' }) > before,
    'plain message refused',
    10_000,
  );
  // A replay: the administrator captures a sealed telemetry message and publishes it again.
  const cap = await run('mosquitto_sub', [
    ...adminArgs(),
    '-i',
    'admin-cap',
    '-t',
    `fleet/v1/${id}/telemetry`,
    '-C',
    '1',
    '-W',
    '10',
    '-F',
    '%x',
  ]);
  assert.is(cap.code, 0, cap.output);
  const captured = Buffer.from(cap.stdout.trim(), 'hex');
  writeFileSync(join(dir, 'replay.bin'), captured);
  const stored = seqs(id).length;
  const rows = statusRows();
  const dupes = () => fleet.server.metrics.duplicates.get({ channel: 'telemetry' });
  const dupesBefore = dupes();
  for (const agent of agents) await agent.close();
  agents.length = 0;
  await new Promise((r) => setTimeout(r, 500));
  const settled = seqs(id).length;
  const replay = await run('mosquitto_pub', [
    ...adminArgs(),
    '-i',
    'admin-pub',
    '-t',
    `fleet/v1/${id}/telemetry`,
    '-q',
    '1',
    '-f',
    join(dir, 'replay.bin'),
  ]);
  assert.is(replay.code, 0, replay.output);
  // Moved to another device's topic, the same bytes do not open (the topic is authenticated).
  const moved = await run('mosquitto_pub', [
    ...adminArgs(),
    '-i',
    'admin-pub',
    '-t',
    `fleet/v1/${DEVICES[1]}/telemetry`,
    '-q',
    '1',
    '-f',
    join(dir, 'replay.bin'),
  ]);
  assert.is(moved.code, 0, moved.output);
  await waitFor(() => dupes() > dupesBefore, 'the replay counted as a duplicate', 10_000);
  await waitFor(
    () => fleet.server.metrics.sealRefused.get({ code: 'SEAL_UNKNOWN_KEY' }) > 0,
    'moved to another topic: refused',
    10_000,
  );
  assert.ok(stored <= settled);
  assert.is(seqs(id).length, settled, 'the replay stored nothing');
  assert.ok(statusRows() >= rows);
  assert.not.ok(
    (fleet.db.prepare('SELECT count(*) FROM status_history WHERE agent_version = ?').pluck().get('6.6.6') as number) >
      0,
    'the forged status is not stored',
  );
});

test('a command sent with fleet cmd send reaches an agent through mosquitto', async () => {
  const keys = tmpDir();
  const opKey = join(keys, 'operator.key');
  const r0 = await fleetCli(['operator-key', 'create', '--out', opKey, '--name', 'ops']);
  assert.is(r0.code, 0, r0.output);
  const platform = createFakePlatform(3);
  const agentLog: string[] = [];
  const agent = await createAgent({
    config: fleet.agentConfig(DEVICES[1]!, {
      server: `mqtts://127.0.0.1:${port}`,
      telemetryIntervalSeconds: 3600,
      operators: [{ name: 'ops', publicKey: `${opKey}.pub`, allow: ['set-relay'] }],
    }),
    platform,
    log: createLogger({ format: 'json', level: 'info', write: (line) => void agentLog.push(line) }),
  });
  agents.push(agent);
  await waitFor(() => agent.connected, 'agent connected to mosquitto');
  // The broker's administrator publishes a command correctly signed by the operator (as if it had one from an
  // earlier capture or a leaked key), but plain: the device takes commands from its backend only, sealed. Sent
  // until the agent says it refused one (its subscription may not stand yet when it is first sent).
  const signed = signCommand(
    newCommandBody({ deviceId: DEVICES[1]!, command: 'set-relay', params: { channel: 7, state: 'on' }, counter: 1 }),
    parsePrivateKeyPem(readFileSync(opKey)).secretKey,
  );
  writeFileSync(join(dir, 'plain-cmd.bin'), signed);
  const cmdTopic = `fleet/v1/${DEVICES[1]!}/cmd`;
  const plainCmd = ['-i', 'admin-cmd', '-t', cmdTopic, '-q', '1', '-f', join(dir, 'plain-cmd.bin')];
  await waitFor(
    async () => {
      const pub = await run('mosquitto_pub', [...adminArgs(), ...plainCmd]);
      assert.is(pub.code, 0, pub.output);
      return agentLog.some((l) => l.includes('refused a plain message'));
    },
    'the agent refused the plain command',
    15_000,
    300,
  );
  const r = await fleetCli([
    'cmd',
    'send',
    DEVICES[1]!,
    'set-relay',
    '--param',
    'channel=4',
    '--param',
    'state=on',
    '--key',
    opKey,
    '--data',
    fleet.dataDir,
    '--wait',
    '20s',
    '--json',
  ]);
  assert.is(r.code, 0, r.output);
  assert.is(JSON.parse(r.stdout).status, 'done');
  // The sealed command ran; the plain one, delivered before it, did not.
  assert.equal(platform.calls, ['setRelay 4 on']);
});

test('a revoked device is refused upstream, though the broker still lets it in', async () => {
  const id = DEVICES[1]!;
  // The agents of the tests above would take their client ids back from this client, in turn (mosquitto lets one
  // session per client id live), and a publish caught between the two can wait forever.
  for (const a of agents.splice(0)) await a.close();
  const before = seqs(id).length;
  const refused = () => fleet.server.metrics.denials.get({ kind: 'upstream', reason: 'revoked' });
  const refusedBefore = refused();
  createRegistry(fleet.db).revoke(id);
  // The server's watch picks the revocation up from this other connection: publish as the device until it has.
  const client = await fleet.connect(id, { url: `mqtts://127.0.0.1:${port}`, clientId: id });
  for (let seq = 1_000_000; refused() === refusedBefore && seq < 1_000_050; seq++) {
    await client.publishAsync(
      `fleet/v1/${id}/telemetry`,
      encodeMessage({ v: 1, seq, ts: Date.now(), metrics: { revokedMetric: 1 } } as never),
      { qos: 1 },
    );
    await new Promise((r) => setTimeout(r, 200));
  }
  await client.endAsync();
  assert.ok(refused() > refusedBefore, 'refused as revoked');
  assert.is(seqs(id).length, before);
});

uvu(
  'fleet serve: --upstream and its three files go together, mqtts:// only (usage errors exit 2, an unreadable file 1)',
  async () => {
    const data = fleet?.dataDir ?? tmpDir('edgeward-upstream-cli-');
    const pem = join(dir, 'some.pem');
    writeFileSync(pem, '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n');
    for (const [args, message] of [
      [['--upstream-cert', pem], /--upstream-cert needs --upstream/],
      [
        ['--upstream', 'mqtt://127.0.0.1:1883', '--upstream-cert', pem, '--upstream-key', pem, '--upstream-ca', pem],
        /mqtts:/,
      ],
      [['--upstream', 'mqtts://u:p@127.0.0.1:8883'], /no credentials/],
      [['--upstream', 'mqtts://127.0.0.1:8883', '--upstream-cert', pem, '--upstream-key', pem], /--upstream-ca FILE/],
      [['--upstream', 'mqtts://127.0.0.1:8883', '--upstream-cert', join(dir, 'absent.crt')], /absent\.crt/],
    ] as const) {
      const r = await fleetCli(['serve', '--data', data, ...args]);
      assert.is(r.code, String(message).includes('absent') ? 1 : 2, r.output);
      assert.match(r.output, message);
    }
  },
);

test.run();
