// The command table: one row per refusal reason, the happy path of every command, and hostile parameters
// (NaN, ±Infinity, strings for numbers, extra fields, huge arrays) — none of which may ever run.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createLogger, decode, encode } from '../../shared/src/index.js';
import { newCommandBody, signCommandBytes, type CmdAck } from '../../shared/src/commands/index.js';
import { generateKeyPair, keyIdBytes, publicKeyToPem, type Ed25519KeyPair } from '../../shared/src/crypto/index.js';
import {
  createCommandExecutor,
  createDeviceStateStore,
  createFakePlatform,
  createKeyring,
  createMemoryOutbox,
  createMemoryReplayStore,
  type CommandActions,
  type FakePlatform,
  type ReplayStore,
} from '../../agent/src/index.js';

const alice = generateKeyPair(); // may send everything
const bob = generateKeyPair(); // may only change the telemetry interval
const mallory = generateKeyPair(); // not in the keyring
const keyring = createKeyring([
  { name: 'alice', publicKey: publicKeyToPem(alice.publicKey), allow: ['*'] },
  { name: 'bob', publicKey: publicKeyToPem(bob.publicKey), allow: ['set-telemetry-interval'] },
]);

const T = Date.parse('2025-06-01T12:00:00Z');
let counter = 1;

interface Rig {
  platform: FakePlatform;
  intervals: number[];
  scans: number;
  clock: { now: number };
  replay: ReplayStore;
  handle(payload: Uint8Array): Promise<CmdAck[]>;
  logs: string[];
}

function rig(
  opts: {
    without?: (keyof CommandActions)[];
    failing?: ('reboot' | 'setRelay' | 'setSetpoint')[];
    replay?: ReplayStore;
  } = {},
): Rig {
  const platform = createFakePlatform(1, opts.failing ? { failing: opts.failing } : {});
  const clock = { now: T };
  const logs: string[] = [];
  const r: Rig = {
    platform,
    intervals: [],
    scans: 0,
    clock,
    replay: opts.replay ?? createMemoryReplayStore(),
    logs,
    handle: () => Promise.resolve([]),
  };
  const all: CommandActions = {
    reboot: () => platform.reboot(),
    setRelay: (c, on) => platform.setRelay(c, on),
    setSetpoint: (c) => platform.setSetpoint(c),
    setTelemetryInterval: (s) => void r.intervals.push(s),
    scanNow: async () => void r.scans++,
  };
  const actions = Object.fromEntries(
    Object.entries(all).filter(([k]) => !opts.without?.includes(k as keyof CommandActions)),
  ) as unknown as CommandActions;
  const outbox = createMemoryOutbox({ maxSamples: 10 });
  const executor = createCommandExecutor({
    deviceId: 'gw-001',
    keyring,
    replay: r.replay,
    actions,
    state: createDeviceStateStore(outbox, { setpointC: 20, telemetryIntervalSeconds: 10 }),
    emit: () => {},
    log: createLogger({ level: 'debug', write: (l) => void logs.push(l) }),
    toleranceMs: 300_000,
    now: () => clock.now,
  });
  r.handle = (p) => executor.handle(p);
  return r;
}

/** A signed envelope over exactly these body fields (the signer does not validate: hostile on purpose). */
function cmd(
  command: string,
  params: unknown,
  over: Record<string, unknown> = {},
  key: Ed25519KeyPair = alice,
): Buffer {
  const body = {
    ...newCommandBody({
      deviceId: 'gw-001',
      command,
      params: params as Record<string, unknown>,
      counter: counter++,
      now: T,
    }),
    ...over,
  };
  return signCommandBytes(encode(body), key.secretKey);
}

const summary = (acks: CmdAck[]) => acks.map((a) => (a.reason ? `${a.status}:${a.reason}` : a.status)).join(' ');

// ---- happy paths: every command, accepted then done, through the injected actions ----

test('reboot: accepted, done, the platform rebooted', async () => {
  const r = rig();
  assert.is(summary(await r.handle(cmd('reboot', {}))), 'accepted done');
  assert.equal(r.platform.calls, ['reboot']);
});

test('set-telemetry-interval: accepted, done, the sampler gets the new interval', async () => {
  const r = rig();
  assert.is(summary(await r.handle(cmd('set-telemetry-interval', { seconds: 60 }))), 'accepted done');
  assert.equal(r.intervals, [60]);
});

test('set-relay: accepted, done, the relay switched', async () => {
  const r = rig();
  assert.is(summary(await r.handle(cmd('set-relay', { channel: 7, state: 'on' }))), 'accepted done');
  assert.is(summary(await r.handle(cmd('set-relay', { channel: 7, state: 'off' }))), 'accepted done');
  assert.equal(r.platform.calls, ['setRelay 7 on', 'setRelay 7 off']);
});

test('set-setpoint: steps of at most 2 °C from the current setpoint, remembered between commands', async () => {
  const r = rig();
  assert.is(summary(await r.handle(cmd('set-setpoint', { celsius: 22 }))), 'accepted done');
  assert.is(summary(await r.handle(cmd('set-setpoint', { celsius: 24 }))), 'accepted done');
  assert.is(
    summary(await r.handle(cmd('set-setpoint', { celsius: 20 }))),
    'rejected:out-of-range',
    '4 °C down in one step',
  );
  assert.is(summary(await r.handle(cmd('set-setpoint', { celsius: 27 }))), 'rejected:out-of-range');
  assert.equal(r.platform.calls, ['setSetpoint 22', 'setSetpoint 24']);
  assert.is(r.platform.setpointC, 24);
});

test('scan-now: accepted, done, a scan ran', async () => {
  const r = rig();
  assert.is(summary(await r.handle(cmd('scan-now', {}))), 'accepted done');
  assert.is(r.scans, 1);
});

test('an action that fails is acknowledged as failed with execution-failed', async () => {
  const r = rig({ failing: ['setRelay'] });
  const acks = await r.handle(cmd('set-relay', { channel: 1, state: 'on' }));
  assert.is(summary(acks), 'accepted failed:execution-failed');
  assert.match(acks[1]!.detail ?? '', /setRelay failed/);
  assert.ok(acks.every((a) => a.cmdId === acks[0]!.cmdId && a.cmdId !== null));
});

// ---- one row per refusal reason ----

const flipBit = (b: Buffer, from: number) => {
  const c = Buffer.from(b);
  c[c.length - from] = c[c.length - from]! ^ 0x01;
  return c;
};

/** S + L: the same signature in its malleable form, which tweetnacl alone would accept. */
function malleable(envelope: Buffer): Buffer {
  const L = (1n << 252n) + 27742317777372353535851937790883648493n;
  const sigAt = envelope.length - 64; // sig is the last field of the envelope map
  const s = envelope.subarray(sigAt + 32);
  let S = 0n;
  for (let i = 31; i >= 0; i--) S = (S << 8n) | BigInt(s[i]!);
  S += L;
  const out = Buffer.from(envelope);
  for (let i = 0; i < 32; i++) out[sigAt + 32 + i] = Number((S >> BigInt(8 * i)) & 0xffn);
  return out;
}

const rows: [string, () => Buffer | Uint8Array, string][] = [
  [
    'unsigned: a bare command body',
    () => encode(newCommandBody({ deviceId: 'gw-001', command: 'reboot', params: {}, counter: counter++, now: T })),
    'rejected:unsigned',
  ],
  [
    'unsigned: an envelope without sig',
    () => encode({ v: 1, body: encode({ a: 1 }), kid: new Uint8Array(8) }),
    'rejected:unsigned',
  ],
  ['bad signature: one bit of the signature flipped', () => flipBit(cmd('reboot', {}), 1), 'rejected:bad-signature'],
  ['bad signature: malleable S + L', () => malleable(cmd('reboot', {})), 'rejected:bad-signature'],
  [
    "bad signature: mallory signs under alice's key id",
    () => {
      const forged = decode(cmd('reboot', {}, {}, mallory)) as Record<string, unknown>;
      return encode({ ...forged, kid: keyIdBytes(alice.publicKey) });
    },
    'rejected:bad-signature',
  ],
  ['unknown key: signed by a key not in the keyring', () => cmd('reboot', {}, {}, mallory), 'rejected:unknown-key'],
  ['not allowed: bob may not reboot', () => cmd('reboot', {}, {}, bob), 'rejected:not-allowed'],
  ['wrong device', () => cmd('reboot', {}, { deviceId: 'gw-002' }), 'rejected:wrong-device'],
  [
    'expired: beyond the clock tolerance',
    () => cmd('reboot', {}, { iat: T - 3_600_000, exp: T - 301_000 }),
    'rejected:expired',
  ],
  [
    'not expired: within the clock tolerance',
    () => cmd('set-relay', { channel: 0, state: 'off' }, { iat: T - 3_600_000, exp: T - 299_000 }),
    'accepted done',
  ],
  ['unknown command', () => cmd('self-destruct', {}), 'rejected:unknown-command'],
  ['malformed: not CBOR', () => Buffer.from('{"command":"reboot"}'), 'rejected:malformed'],
  [
    'malformed: signed body without a nonce',
    () =>
      signCommandBytes(
        encode({
          ...newCommandBody({ deviceId: 'gw-001', command: 'reboot', params: {}, counter: counter++, now: T }),
          nonce: undefined,
        }),
        alice.secretKey,
      ),
    'rejected:malformed',
  ],
  [
    'malformed: signed body that is not CBOR',
    () => signCommandBytes(Buffer.from('reboot now'), alice.secretKey),
    'rejected:malformed',
  ],
  [
    'malformed: envelope beyond 8 KiB',
    () => cmd('set-relay', { channel: new Array(9000).fill(0), state: 'on' }),
    'rejected:malformed',
  ],
  ['out of range: channel 8', () => cmd('set-relay', { channel: 8, state: 'on' }), 'rejected:out-of-range'],
  ['out of range: channel NaN', () => cmd('set-relay', { channel: Number.NaN, state: 'on' }), 'rejected:out-of-range'],
  [
    'out of range: channel +Infinity',
    () => cmd('set-relay', { channel: Number.POSITIVE_INFINITY, state: 'on' }),
    'rejected:out-of-range',
  ],
  [
    'out of range: setpoint -Infinity',
    () => cmd('set-setpoint', { celsius: Number.NEGATIVE_INFINITY }),
    'rejected:out-of-range',
  ],
  [
    'out of range: a string where a number is expected',
    () => cmd('set-telemetry-interval', { seconds: '60' }),
    'rejected:out-of-range',
  ],
  ['out of range: interval 4 s', () => cmd('set-telemetry-interval', { seconds: 4 }), 'rejected:out-of-range'],
  ['out of range: interval 3601 s', () => cmd('set-telemetry-interval', { seconds: 3601 }), 'rejected:out-of-range'],
  [
    'out of range: a fractional channel',
    () => cmd('set-relay', { channel: 1.5, state: 'on' }),
    'rejected:out-of-range',
  ],
  [
    'out of range: an enum value outside the set',
    () => cmd('set-relay', { channel: 1, state: 'toggle' }),
    'rejected:out-of-range',
  ],
  [
    'out of range: an extra field',
    () => cmd('set-relay', { channel: 1, state: 'on', pulseMs: 5 }),
    'rejected:out-of-range',
  ],
  [
    'out of range: a huge array',
    () => cmd('set-relay', { channel: new Array(1000).fill(1), state: 'on' }),
    'rejected:out-of-range',
  ],
  ['out of range: params not a map', () => cmd('reboot', [1, 2, 3]), 'rejected:out-of-range'],
  ['out of range: setpoint 30.5 °C', () => cmd('set-setpoint', { celsius: 30.5 }), 'rejected:out-of-range'],
];

for (const [name, make, expected] of rows) {
  test(`refusal table: ${name} → ${expected}`, async () => {
    const r = rig();
    assert.is(summary(await r.handle(make())), expected);
    if (expected.startsWith('rejected')) assert.equal(r.platform.calls, [], 'nothing ran');
  });
}

test('replay: the same envelope twice runs once', async () => {
  const r = rig();
  const env = cmd('set-relay', { channel: 3, state: 'on' });
  assert.is(summary(await r.handle(env)), 'accepted done');
  const again = await r.handle(env);
  assert.is(summary(again), 'rejected:replay');
  assert.match(again[0]!.detail ?? '', /nonce/);
  assert.equal(r.platform.calls, ['setRelay 3 on']);
});

test('replay: a fresh nonce with a counter not above the last one is refused', async () => {
  const r = rig();
  assert.is(summary(await r.handle(cmd('reboot', {}, { counter: 1000 }))), 'accepted done');
  assert.is(summary(await r.handle(cmd('reboot', {}, { counter: 1000 }))), 'rejected:replay');
  assert.is(summary(await r.handle(cmd('reboot', {}, { counter: 999 }))), 'rejected:replay');
  assert.is(summary(await r.handle(cmd('reboot', {}, { counter: 1001 }))), 'accepted done');
  // Counters are per operator key: bob's start from zero.
  assert.is(
    summary(await r.handle(cmd('set-telemetry-interval', { seconds: 30 }, { counter: 1 }, bob))),
    'accepted done',
  );
});

test('replay with a wrong clock: the counter refuses it after the nonce is forgotten', async () => {
  const r = rig();
  const env = cmd('set-relay', { channel: 4, state: 'on' }, { counter: 5000, exp: T + 60_000 });
  assert.is(summary(await r.handle(env)), 'accepted done');
  r.clock.now = T + 2 * 86_400_000; // two days on: the nonce is pruned…
  await r.handle(cmd('reboot', {}, { counter: 5001, iat: r.clock.now, exp: r.clock.now + 60_000 }));
  assert.is(r.replay.stats().nonces, 1, 'the old nonce was forgotten');
  r.clock.now = T - 86_400_000; // …then the clock jumps back a day: the old envelope looks current again
  const again = await r.handle(env);
  assert.is(summary(again), 'rejected:replay');
  assert.match(again[0]!.detail ?? '', /counter 5000/);
  assert.equal(r.platform.calls, ['setRelay 4 on', 'reboot']);
});

test('a refused command is judged once: the same envelope cannot pass later when the state has changed', async () => {
  const r = rig();
  const far = cmd('set-setpoint', { celsius: 23 }); // 3 °C from 20: refused now
  assert.is(summary(await r.handle(far)), 'rejected:out-of-range');
  assert.is(summary(await r.handle(cmd('set-setpoint', { celsius: 22 }))), 'accepted done');
  assert.is(summary(await r.handle(far)), 'rejected:replay', 'now only 1 °C away, but already judged');
});

test('unsupported: a device without the capability refuses the command', async () => {
  const r = rig({ without: ['setRelay', 'scanNow'] });
  assert.is(summary(await r.handle(cmd('set-relay', { channel: 1, state: 'on' }))), 'rejected:unsupported');
  assert.is(summary(await r.handle(cmd('scan-now', {}))), 'rejected:unsupported');
});

test('acks carry the command id when it can be read, and never the signature or key material', async () => {
  const r = rig();
  const env = cmd('reboot', {}, { id: 'cmd-known-id-1' }, mallory);
  const [ack] = await r.handle(env);
  assert.is(ack!.cmdId, 'cmd-known-id-1');
  const [garbage] = await r.handle(Buffer.from([0xff, 0x00]));
  assert.is(garbage!.cmdId, null);
  const sigHex = env.subarray(env.length - 64).toString('hex');
  const all = r.logs.join('');
  assert.not.ok(all.includes(sigHex));
  for (const k of [alice, bob, mallory])
    assert.not.ok(all.includes(Buffer.from(k.secretKey.subarray(0, 32)).toString('hex')));
  assert.match(all, /command rejected/);
});

test('commands run one at a time, in arrival order', async () => {
  const r = rig();
  const results = await Promise.all([1, 2, 3, 4].map((c) => r.handle(cmd('set-relay', { channel: c, state: 'on' }))));
  assert.equal(results.map(summary), ['accepted done', 'accepted done', 'accepted done', 'accepted done']);
  assert.equal(r.platform.calls, ['setRelay 1 on', 'setRelay 2 on', 'setRelay 3 on', 'setRelay 4 on']);
});

test.run();
