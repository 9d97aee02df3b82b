// End-to-end sealing against the real fleet server (mutual TLS on loopback, SQLite, ingest thread) and the real
// agent: what the agent sends is sealed on the wire and stored once opened; a message sealed for another backend,
// by another device, with a flipped bit, replayed, under an unknown key id, or not sealed at all is refused —
// counted, logged without its contents, and nothing of it stored.
import { join } from 'node:path';
import mqtt, { type IClientOptions } from 'mqtt';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createAgent, createFakePlatform } from '../../agent/src/index.js';
import {
  createLogger,
  deviceTopic,
  encode,
  generateSealKeyPair,
  openEnvelope,
  parseEnvelope,
  parseSealPublicKeyPem,
  parseSealSecretKeyPem,
  publicKeyToPem,
  generateKeyPair as generateEd25519,
  sealPublicKeyToPem,
  sealSecretKeyToPem,
  sealMessage,
  sealChannel,
} from '../../shared/src/index.js';
import { readFileSync } from 'node:fs';
import { createCsr, generateKeyPair as generateP256 } from '../../shared/src/x509.js';
import { createTestFleet, waitFor, type TestFleet } from '../helpers/fleet.js';
import { addOperator, apiClientFor } from '../helpers/operators.js';
import { fleetCli } from '../helpers/run.js';
import { tmpDir } from '../helpers/tmp.js';

let fleet: TestFleet;
const logLines: string[] = [];
const log = createLogger({ format: 'json', level: 'debug', write: (line) => void logLines.push(line) });

test.before(async () => {
  fleet = await createTestFleet(['seal-a', 'seal-b', 'seal-c', 'seal-d']);
  await fleet.start({ log }); // the default configuration: sealing "required"
});
test.after(async () => {
  await fleet.close();
});

const SECRET_METRIC = 'heartRateBpm';
const rows = (id: string) =>
  fleet.db.prepare('SELECT count(*) FROM telemetry WHERE device_id = ?').pluck().get(id) as number;
const rejects = (id: string) =>
  fleet.db.prepare('SELECT code, sum(count) AS n FROM ingest_rejects WHERE device_id = ? GROUP BY code').all(id) as {
    code: string;
    n: number;
  }[];
const refused = (code: string) => fleet.server.metrics.sealRefused.get({ code });
const telemetry = (seq: number, stream = 'seal-test') =>
  encode({
    v: 1,
    id: `${stream}-${seq}`,
    ts: Date.now(),
    stream,
    samples: [{ seq, ts: Date.now(), m: { [SECRET_METRIC]: 71 } }],
  });

test('the real agent seals what it sends: no metric name on the wire, every sample stored once opened', async () => {
  const wire: Buffer[] = [];
  const agent = await createAgent({
    config: fleet.agentConfig('seal-a'),
    platform: createFakePlatform(3),
    log: createLogger({ level: 'error' }),
    connect(url: string, o: IClientOptions) {
      const c = mqtt.connect(url, o);
      const publish = c.publish.bind(c) as (...args: unknown[]) => unknown;
      (c as unknown as { publish: (...args: unknown[]) => unknown }).publish = (
        t: unknown,
        p: unknown,
        ...r: unknown[]
      ) => {
        wire.push(Buffer.from(p as Buffer));
        return publish(t, p, ...r);
      };
      return c;
    },
  });
  try {
    await waitFor(() => agent.connected, 'agent connected');
    for (let i = 0; i < 3; i++) await agent.sampleNow();
    await waitFor(() => rows('seal-a') >= 3, 'three samples stored');
    await waitFor(
      () => fleet.db.prepare(`SELECT count(*) FROM status_history WHERE device_id = 'seal-a'`).pluck().get(),
      'status stored',
    );
  } finally {
    await agent.close();
  }
  assert.ok(wire.length >= 2);
  for (const bytes of wire) {
    parseEnvelope(bytes); // every publish is an envelope
    for (const clear of ['cpuLoad1', 'samples', 'stream', 'online', 'agentVersion'])
      assert.not.ok(bytes.includes(Buffer.from(clear)), `"${clear}" in the clear on the wire`);
  }
  assert.equal(rejects('seal-a'), []);
  const metric = fleet.db.prepare(`SELECT metrics FROM telemetry WHERE device_id = 'seal-a' LIMIT 1`).pluck().get();
  assert.match(String(metric), /cpuLoad1/, 'stored opened');
});

test('refused: sealed for another backend, by another device, flipped bit, unknown key, unsealed', async () => {
  const topic = deviceTopic('seal-b', 'telemetry');
  const b = fleet.sealChannel('seal-b');
  const a = fleet.sealChannel('seal-a');
  const backendPub = parseSealPublicKeyPem(readFileSync(join(fleet.deviceDir('seal-b'), 'backend-seal.pub')));
  const otherBackend = generateSealKeyPair();
  const stranger = generateSealKeyPair();
  const flipped = sealMessage(b, topic, telemetry(3));
  flipped[flipped.length - 5]! ^= 0x04;
  const aEnv = parseEnvelope(sealMessage(sealChannel(stranger, backendPub), topic, telemetry(4)));
  const cases: [string, Uint8Array, string][] = [
    [
      'for another backend',
      sealMessage(sealChannel(generateSealKeyPair(), otherBackend.publicKey), topic, telemetry(1)),
      'SEAL_UNKNOWN_KEY',
    ],
    ['by another device (seal-a key on seal-b topic)', sealMessage(a, topic, telemetry(2)), 'SEAL_UNKNOWN_KEY'],
    ['flipped bit', flipped, 'SEAL_AUTH_FAILED'],
    ['another key under seal-b key id', encode([1, b.ownKid, b.peerKid, aEnv.nonce, aEnv.box]), 'SEAL_AUTH_FAILED'],
    ['unknown key id', sealMessage(sealChannel(stranger, backendPub), topic, telemetry(5)), 'SEAL_UNKNOWN_KEY'],
    ['unsealed', telemetry(6), 'SEAL_REQUIRED'],
    ['sealed for another topic', sealMessage(b, deviceTopic('seal-b', 'status'), telemetry(7)), 'SEAL_AUTH_FAILED'],
  ];
  const before = new Map(cases.map(([, , code]) => [code, refused(code)]));
  logLines.length = 0;
  const client = await fleet.connect('seal-b', { plain: true });
  for (const [, payload] of cases) await client.publishAsync(topic, Buffer.from(payload), { qos: 1 });
  await client.endAsync();
  const expected = new Map<string, number>();
  for (const [, , code] of cases) expected.set(code, (expected.get(code) ?? 0) + 1);
  for (const [code, n] of expected) assert.is(refused(code) - before.get(code)!, n, `${code} counted`);
  assert.is(rows('seal-b'), 0, 'nothing stored');
  assert.equal(
    Object.fromEntries(rejects('seal-b').map((r) => [r.code, r.n])),
    Object.fromEntries(expected),
    'each refusal recorded by code',
  );
  const refusals = logLines.filter((l) => l.includes('rejected device message') && l.includes('seal-b'));
  assert.is(refusals.length, cases.length, 'each refusal logged');
  assert.ok(
    logLines.every((l) => !l.includes(SECRET_METRIC)),
    'never the contents',
  );
});

test('replayed: the same sealed bytes again store nothing, are counted and logged', async () => {
  const topic = deviceTopic('seal-c', 'telemetry');
  const sealed = sealMessage(fleet.sealChannel('seal-c'), topic, telemetry(1, 'replay-stream'));
  const status = deviceTopic('seal-c', 'status');
  const statusMsg = encode({ v: 1, id: 'st-replay-1', ts: Date.now(), state: 'online', agentVersion: '1.0.0' });
  const sealedStatus = sealMessage(fleet.sealChannel('seal-c'), status, statusMsg);
  const dup = () => fleet.server.metrics.duplicates.get({ channel: 'telemetry' });
  const dupStatus = () => fleet.server.metrics.duplicates.get({ channel: 'status' });
  const [d0, s0] = [dup(), dupStatus()];
  logLines.length = 0;
  const client = await fleet.connect('seal-c', { plain: true });
  await client.publishAsync(topic, sealed, { qos: 1 });
  await client.publishAsync(status, sealedStatus, { qos: 1 });
  // The broker's administrator replays captured bytes, and reseals nothing: it has no key.
  await client.publishAsync(topic, sealed, { qos: 1 });
  await client.publishAsync(status, sealedStatus, { qos: 1 });
  await client.endAsync();
  assert.is(rows('seal-c'), 1, JSON.stringify(rejects('seal-c')));
  assert.is(
    fleet.db.prepare(`SELECT count(*) FROM status_history WHERE device_id = 'seal-c'`).pluck().get(),
    1,
    'status stored once',
  );
  assert.is(dup() - d0, 1);
  assert.is(dupStatus() - s0, 1);
  assert.is(logLines.filter((l) => l.includes('duplicate device message') && l.includes('seal-c')).length, 2);
  assert.equal(rejects('seal-c'), []);
});

test('backend → device: commands and offers are sealed for the device key; only that device opens them', async () => {
  const client = await fleet.connect('seal-b', { plain: true });
  const got = new Promise<{ topic: string; payload: Buffer }>((resolve) =>
    client.once('message', (topic, payload) => resolve({ topic, payload })),
  );
  const cmdTopic = deviceTopic('seal-b', 'cmd');
  await client.subscribeAsync(cmdTopic, { qos: 1 });
  await fleet.server.publish(cmdTopic, Buffer.from('a signed command'));
  const { payload } = await got;
  await client.endAsync();
  assert.not.ok(payload.includes(Buffer.from('signed command')), 'nothing in the clear');
  const env = parseEnvelope(payload);
  assert.is(Buffer.from(openEnvelope(fleet.sealChannel('seal-b'), env, cmdTopic)).toString(), 'a signed command');
  assert.throws(() => openEnvelope(fleet.sealChannel('seal-a'), env, cmdTopic), /sealed by a key|another recipient/);
  assert.throws(() => openEnvelope(fleet.sealChannel('seal-b'), env, deviceTopic('seal-b', 'update')), /another topic/);
});

test('rotation: renew makes a new sealing key, sealed to once the device uses it; --revoke-old retires', async () => {
  const id = 'seal-d';
  const [topic, cmdTopic] = [deviceTopic(id, 'telemetry'), deviceTopic(id, 'cmd')];
  const channelIn = (dir: string) =>
    sealChannel(
      parseSealSecretKeyPem(readFileSync(join(dir, 'seal.key'))),
      parseSealPublicKeyPem(readFileSync(join(dir, 'backend-seal.pub'))),
    );
  const oldCh = fleet.sealChannel(id);
  const dir2 = join(tmpDir('edgeward-seal-rotate-'), 'renewed');
  const r = await fleetCli(['device', 'renew', id, '--out', dir2, '--data', fleet.dataDir]);
  assert.is(r.code, 0, r.output);
  const newCh = channelIn(dir2);
  assert.is.not(Buffer.from(newCh.ownKid).toString('hex'), Buffer.from(oldCh.ownKid).toString('hex'), 'a new key');

  const client = await fleet.connect(id, { plain: true });
  const received: Buffer[] = [];
  client.on('message', (_t, p) => void received.push(p));
  await client.subscribeAsync(cmdTopic, { qos: 1 });
  const command = async (text: string) => {
    const n = received.length;
    await fleet.server.publish(cmdTopic, Buffer.from(text));
    await waitFor(() => received.length > n, `command ${text} delivered`);
    return parseEnvelope(received.at(-1)!);
  };
  const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
  // Until the device has the new key, the old one opens and the backend keeps sealing to it.
  await client.publishAsync(topic, sealMessage(oldCh, topic, telemetry(1, 'rotate-stream')), { qos: 1 });
  assert.is(hex((await command('one')).recipientKid), hex(oldCh.ownKid));
  // The device's first message under the new key switches the backend to it.
  await client.publishAsync(topic, sealMessage(newCh, topic, telemetry(2, 'rotate-stream')), { qos: 1 });
  const two = await command('two');
  assert.is(hex(two.recipientKid), hex(newCh.ownKid));
  assert.is(Buffer.from(openEnvelope(newCh, two, cmdTopic)).toString(), 'two');
  assert.is(rows(id), 2, JSON.stringify(rejects(id)));
  await client.endAsync();

  // --revoke-old: a third key; the earlier certificates are revoked and the earlier sealing keys retired.
  const dir3 = join(tmpDir('edgeward-seal-rotate-'), 'renewed-again');
  const r3 = await fleetCli(['device', 'renew', id, '--out', dir3, '--revoke-old', '--data', fleet.dataDir]);
  assert.is(r3.code, 0, r3.output);
  const third = channelIn(dir3);
  const cert = { key: readFileSync(join(dir3, 'device.key')), cert: readFileSync(join(dir3, 'device.crt')) };
  const c3 = await fleet.connect(id, { plain: true, ...cert });
  const unknown = refused('SEAL_UNKNOWN_KEY');
  let seq = 3;
  // The ingest thread looks a cached key up again every 10 s (ingest-open.ts KEY_RECHECK_MS).
  await waitFor(
    async () => {
      await c3.publishAsync(topic, sealMessage(newCh, topic, telemetry(seq++, 'rotate-stream')), { qos: 1 });
      return refused('SEAL_UNKNOWN_KEY') > unknown;
    },
    'a message under a retired key refused',
    20_000,
    1000,
  );
  const stored = rows(id);
  await c3.publishAsync(topic, sealMessage(third, topic, telemetry(1000, 'rotate-stream')), { qos: 1 });
  assert.is(rows(id), stored + 1, 'the new key opens');
  await c3.endAsync();
});

test('the API refuses a sealing key that is not an X25519 public key, and registers nothing', async () => {
  const admin = await addOperator(fleet.db, 'seal-admin', 'admin');
  const api = apiClientFor(fleet.dataDir, fleet.server.httpPort, { credential: admin.credential });
  const smallOrder = sealPublicKeyToPem(new Uint8Array(32)); // the all-zero point: every shared key is zero
  const ed25519 = publicKeyToPem(generateEd25519().publicKey);
  try {
    for (const [what, sealKey] of [
      ['not PEM', 'not a key'],
      ['an Ed25519 key', ed25519],
      ['a small-order point', smallOrder],
      ['a private key', sealSecretKeyToPem(generateSealKeyPair())],
    ] as const) {
      const csr = await createCsr('seal-bad-key', await generateP256());
      const err = await api.call('POST', '/api/v1/devices', { id: 'seal-bad-key', csr, sealKey }).then(
        () => undefined,
        (e: { code?: string; status?: number }) => e,
      );
      assert.is(err?.code, 'FLEET_SEAL_KEY_INVALID', what);
      assert.is(err?.status, 400, what);
      const renewCsr = await createCsr('seal-a', await generateP256());
      const renew = await api.call('POST', '/api/v1/devices/seal-a/renew', { csr: renewCsr, sealKey }).then(
        () => undefined,
        (e: { code?: string }) => e,
      );
      assert.is(renew?.code, 'FLEET_SEAL_KEY_INVALID', `renew: ${what}`);
    }
    assert.is(fleet.server.registry.get('seal-bad-key'), undefined, 'nothing registered');
    const certs = fleet.db.prepare(`SELECT count(*) FROM certificates WHERE device_id = 'seal-a'`).pluck().get();
    assert.is(certs, 1, 'no certificate issued by a refused renewal');
  } finally {
    api.close();
  }
});

test.run();
