// Signed commands end to end: the fleet server publishes on fleet/v1/{id}/cmd over real mTLS, the agent
// verifies and runs them on a fake platform, and its cmd/ack messages leave through the SQLite outbox.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import mqtt, { type IClientOptions } from 'mqtt';
import {
  createAgent,
  createFakePlatform,
  readAgentStatus,
  type Agent,
  type FakePlatform,
} from '../../agent/src/index.js';
import { deviceTopic, encode, type ExposureReport } from '../../shared/src/index.js';
import { decodeExposure } from '../../shared/src/messages/exposure.js';
import { decodeCmdAck, newCommandBody, signCommand, type CmdAck } from '../../shared/src/commands/index.js';
import { generateKeyPair, publicKeyToPem } from '../../shared/src/crypto/index.js';
import { createTestFleet, testLogger, waitFor, type TestFleet } from '../helpers/fleet.js';

const ops = generateKeyPair();
let fleet: TestFleet;
let counter = 1;

test.before(async () => {
  fleet = await createTestFleet(['cmd-001']);
  await fleet.start();
});
test.after(async () => {
  await fleet.close();
});

function report(deviceId: string): Uint8Array {
  const r: ExposureReport = {
    v: 1,
    id: `exp-${Date.now()}`,
    ts: Date.now(),
    deviceId,
    scoringVersion: 1,
    score: 100,
    grade: 'A',
    categories: { transport: 100, authentication: 100, exposure: 100, configuration: 100, ai: null },
    scan: { target: 'local', durationMs: 5, timedOut: false, credentialChecks: false, truncated: false },
    services: [],
    findings: [],
  };
  return encode(r);
}

interface Wire {
  topic: string;
  payload: Buffer;
}

async function start(platform: FakePlatform, wire: Wire[], acks: CmdAck[]): Promise<Agent> {
  const config = fleet.agentConfig('cmd-001', {
    telemetryIntervalSeconds: 3600,
    operators: [{ name: 'ops', publicKey: publicKeyToPem(ops.publicKey), allow: ['*'] }],
    commands: { initialSetpointC: 19 },
  });
  return createAgent({
    config,
    platform,
    log: testLogger(),
    scanner: async () => report('cmd-001'),
    onCommandAck: (a) => void acks.push(a),
    // Watch what leaves the device on the wire.
    connect(url: string, o: IClientOptions) {
      const c = mqtt.connect(url, o);
      const publish = c.publish.bind(c) as (...args: unknown[]) => unknown;
      (c as unknown as { publish: (...args: unknown[]) => unknown }).publish = (
        topic: unknown,
        payload: unknown,
        ...rest: unknown[]
      ) => {
        wire.push({ topic: String(topic), payload: Buffer.from(payload as Buffer) });
        return publish(topic, payload, ...rest);
      };
      return c;
    },
  });
}

const send = (command: string, params: Record<string, unknown>, over: Record<string, unknown> = {}) => {
  const env = signCommand(
    { ...newCommandBody({ deviceId: 'cmd-001', command, params, counter: counter++ }), ...over },
    ops.secretKey,
  );
  return { env, publish: () => fleet.server.publish(deviceTopic('cmd-001', 'cmd'), env) };
};

test('signed commands run on the device and every acknowledgement reaches the broker', async () => {
  const platform = createFakePlatform(7);
  const wire: Wire[] = [];
  const acks: CmdAck[] = [];
  const agent = await start(platform, wire, acks);
  try {
    await waitFor(() => agent.connected, 'connected');
    // The subscription is made right after CONNACK; publish until the first command lands.
    const relay = send('set-relay', { channel: 5, state: 'on' });
    await waitFor(async () => (await relay.publish(), acks.length > 0), 'first command delivered', 10_000, 200);
    await send('set-telemetry-interval', { seconds: 30 }).publish();
    await send('set-setpoint', { celsius: 21 }).publish();
    await send('scan-now', {}).publish();
    await waitFor(() => acks.filter((a) => a.status === 'done').length >= 4, 'four commands done');
    await waitFor(() => agent.stats().messages === 0, 'acks and report acknowledged by the broker');

    assert.equal(platform.calls, ['setRelay 5 on', 'setSetpoint 21'], 'each ran once, however often it was delivered');
    const cmdAcks = wire
      .filter((w) => w.topic === deviceTopic('cmd-001', 'cmd/ack'))
      .map((w) => decodeCmdAck(fleet.openFromDevice('cmd-001', w.topic, w.payload)));
    assert.ok(cmdAcks.length >= 8, 'accepted + done for each, decodable by the backend');
    const exposure = wire.filter((w) => w.topic === deviceTopic('cmd-001', 'exposure'));
    assert.is(exposure.length, 1);
    const report = fleet.openFromDevice('cmd-001', exposure[0]!.topic, exposure[0]!.payload);
    assert.is(decodeExposure(report).deviceId, 'cmd-001');
    const status = readAgentStatus(fleet.agentConfig('cmd-001').stateDir);
    assert.is(status.running, true);
    assert.is(status.connected, true);
    assert.is(status.telemetryIntervalSeconds, 30);
    assert.ok(status.lastCommandAt !== null);
  } finally {
    await agent.close();
  }
});

test('nonces survive a restart: a replayed command is refused, the new interval and setpoint are kept', async () => {
  const platform = createFakePlatform(8);
  const wire: Wire[] = [];
  const acks: CmdAck[] = [];
  const first = send('set-relay', { channel: 2, state: 'on' });
  let agent = await start(platform, wire, acks);
  await waitFor(
    async () => (await first.publish(), acks.some((a) => a.status === 'done')),
    'command done',
    10_000,
    200,
  );
  await agent.close();

  acks.length = 0;
  agent = await start(platform, wire, acks);
  try {
    await waitFor(async () => (await first.publish(), acks.length > 0), 'replay answered', 10_000, 200);
    assert.is(acks[0]!.status, 'rejected');
    assert.is(acks[0]!.reason, 'replay');
    assert.equal(platform.calls, ['setRelay 2 on'], 'ran once');
    // The setpoint set before the restart (21) is the base of the ±2 °C rule now, not the configured 19.
    await send('set-setpoint', { celsius: 23 }).publish();
    await send('set-setpoint', { celsius: 26 }).publish();
    await waitFor(() => acks.length >= 4, 'two more answers');
    assert.equal(
      acks.slice(1).map((a) => a.reason ?? a.status),
      ['accepted', 'done', 'out-of-range'],
    );
    assert.is(readAgentStatus(fleet.agentConfig('cmd-001').stateDir).telemetryIntervalSeconds, 30);
  } finally {
    await agent.close();
  }
});

test('a forged command from a client without the operator key is refused and never runs', async () => {
  const platform = createFakePlatform(9);
  const acks: CmdAck[] = [];
  const agent = await start(platform, [], acks);
  const mallory = generateKeyPair();
  try {
    await waitFor(() => agent.connected, 'connected');
    const forged = signCommand(
      newCommandBody({ deviceId: 'cmd-001', command: 'reboot', params: {}, counter: 10_000 }),
      mallory.secretKey,
    );
    await waitFor(
      async () => (await fleet.server.publish(deviceTopic('cmd-001', 'cmd'), forged), acks.length > 0),
      'forgery answered',
      10_000,
      200,
    );
    assert.is(acks[0]!.reason, 'unknown-key');
    assert.equal(platform.calls, []);
  } finally {
    await agent.close();
  }
});

test.run();
