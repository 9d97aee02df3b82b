// The shared command contract: registry validation, --param parsing, the signed envelope and cmd/ack.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { encode } from '../../shared/src/index.js';
import {
  COMMANDS,
  COMMAND_NAMES,
  decodeCmdAck,
  decodeCommandBody,
  encodeCmdAck,
  MAX_ENVELOPE_BYTES,
  newCommandBody,
  openCommand,
  openEnvelope,
  parseCommandParams,
  signCommand,
  signCommandBytes,
  validateCommandParams,
  validateOnDevice,
  verifyCommandSignature,
} from '../../shared/src/commands/index.js';
import { generateKeyPair, keyIdBytes } from '../../shared/src/crypto/index.js';

const operator = generateKeyPair();

test('the registry declares the five commands with capability, physical flag and schema', () => {
  assert.equal([...COMMAND_NAMES].sort(), [
    'reboot',
    'scan-now',
    'set-relay',
    'set-setpoint',
    'set-telemetry-interval',
  ]);
  assert.is(COMMANDS['set-relay'].physical, true);
  assert.is(COMMANDS['set-relay'].capability, 'relay');
  assert.is(COMMANDS['scan-now'].physical, false);
  assert.is(COMMANDS['set-setpoint'].capability, 'thermostat');
  assert.type(COMMANDS['set-setpoint'].check, 'function');
});

const ok: [string, unknown][] = [
  ['reboot', {}],
  ['scan-now', {}],
  ['set-telemetry-interval', { seconds: 5 }],
  ['set-telemetry-interval', { seconds: 3600 }],
  ['set-relay', { channel: 0, state: 'on' }],
  ['set-relay', { channel: 7, state: 'off' }],
  ['set-setpoint', { celsius: 5 }],
  ['set-setpoint', { celsius: 21.5 }],
];
for (const [name, params] of ok) {
  test(`valid: ${name} ${JSON.stringify(params)}`, () => {
    const r = validateCommandParams(name, params);
    assert.ok(r.ok, JSON.stringify(r.issues));
  });
}

const bad: [string, unknown][] = [
  ['set-telemetry-interval', { seconds: 4 }],
  ['set-telemetry-interval', { seconds: 3601 }],
  ['set-telemetry-interval', { seconds: 10.5 }],
  ['set-telemetry-interval', { seconds: Number.NaN }],
  ['set-telemetry-interval', { seconds: Number.POSITIVE_INFINITY }],
  ['set-telemetry-interval', { seconds: '60' }],
  ['set-telemetry-interval', {}],
  ['set-relay', { channel: 8, state: 'on' }],
  ['set-relay', { channel: -1, state: 'on' }],
  ['set-relay', { channel: 1, state: 'ON' }],
  ['set-relay', { channel: 1, state: true }],
  ['set-relay', { channel: 1, state: 'on', extra: 1 }],
  ['set-relay', { channel: [1, 2, 3], state: 'on' }],
  ['set-setpoint', { celsius: 4.99 }],
  ['set-setpoint', { celsius: 30.01 }],
  ['set-setpoint', { celsius: Number.NEGATIVE_INFINITY }],
  ['reboot', { now: true }],
  ['reboot', []],
  ['reboot', null],
  ['scan-now', 'now'],
];
for (const [name, params] of bad) {
  test(
    `out of range: ${name} ${String(JSON.stringify(params) ?? params)} ` +
      `${typeof params === 'object' && params ? Object.values(params).map(String).join(',') : ''}`,
    () => {
      const r = validateCommandParams(name, params);
      assert.not.ok(r.ok);
      assert.ok(r.issues.length > 0);
      assert.is(r.ok === false && r.unknownCommand, false);
    },
  );
}

test('unknown commands are said to be unknown', () => {
  const r = validateCommandParams('self-destruct', {});
  assert.is(r.ok, false);
  assert.is(r.ok === false && r.unknownCommand, true);
  assert.is(validateCommandParams('__proto__', {}).ok, false);
  assert.is(validateCommandParams('toString', {}).ok, false);
});

test('set-setpoint: at most 2 °C from the current setpoint, evaluated on the device', () => {
  assert.ok(validateOnDevice('set-setpoint', { celsius: 22 }, { setpointC: 20 }).ok);
  assert.ok(validateOnDevice('set-setpoint', { celsius: 22.1 }, { setpointC: 20.1 }).ok, 'floating-point slack');
  assert.ok(validateOnDevice('set-setpoint', { celsius: 18 }, { setpointC: 20 }).ok);
  assert.not.ok(validateOnDevice('set-setpoint', { celsius: 22.5 }, { setpointC: 20 }).ok);
  assert.not.ok(validateOnDevice('set-setpoint', { celsius: 17.9 }, { setpointC: 20 }).ok);
  assert.not.ok(validateOnDevice('set-setpoint', { celsius: 20 }, {}).ok, 'unknown current setpoint refuses');
  assert.ok(validateCommandParams('set-setpoint', { celsius: 29 }).ok, 'the sender cannot see the device state');
});

test('--param k=v pairs are typed by the registry', () => {
  const r = parseCommandParams('set-relay', ['channel=3', 'state=on']);
  assert.ok(r.ok);
  assert.equal(r.ok && r.params, { channel: 3, state: 'on' });
  assert.equal(parseCommandParams('set-setpoint', ['celsius=21.5']).ok && true, true);
  for (const pairs of [
    ['channel=3'],
    ['channel=x', 'state=on'],
    ['channel=', 'state=on'],
    ['channel=3', 'state=on', 'colour=red'],
    ['channel=3', 'channel=4', 'state=on'],
    ['nonsense'],
    ['channel= 3', 'state=on'],
    ['channel=0x3', 'state=on'],
  ]) {
    assert.is(parseCommandParams('set-relay', pairs).ok, false, pairs.join(' '));
  }
  assert.is(parseCommandParams('set-telemetry-interval', ['seconds=NaN']).ok, false);
  assert.is(parseCommandParams('set-telemetry-interval', ['seconds=Infinity']).ok, false);
  assert.is(parseCommandParams('nope', []).ok, false);
});

const body = (over: Record<string, unknown> = {}) => ({
  ...newCommandBody({ deviceId: 'gw-001', command: 'set-relay', params: { channel: 2, state: 'on' }, counter: 1 }),
  ...over,
});

test('sign → open → verify round trip over the exact body bytes', () => {
  const env = signCommand(body(), operator.secretKey);
  assert.ok(env.length < MAX_ENVELOPE_BYTES);
  const opened = openCommand(env);
  assert.ok(opened.ok);
  if (!opened.ok) return;
  assert.is(Buffer.from(opened.kid).toString('hex'), Buffer.from(keyIdBytes(operator.publicKey)).toString('hex'));
  assert.is(opened.sig.length, 64);
  assert.is(opened.body.command, 'set-relay');
  assert.equal(opened.body.params, { channel: 2, state: 'on' });
  assert.is(opened.body.nonce.length, 16);
  assert.ok(verifyCommandSignature(opened, operator.publicKey));
  assert.not.ok(verifyCommandSignature(opened, generateKeyPair().publicKey));
});

test('the signature covers every body byte and the domain prefix', () => {
  const env = signCommand(body(), operator.secretKey);
  const opened = openEnvelope(env);
  assert.ok(opened.ok);
  if (!opened.ok) return;
  const bytes = Buffer.from(opened.envelope.bodyBytes);
  for (const i of [0, 5, bytes.length - 1]) {
    const t = Buffer.from(bytes);
    t[i] = t[i]! ^ 1;
    assert.not.ok(verifyCommandSignature({ sig: opened.envelope.sig, bodyBytes: t }, operator.publicKey), `byte ${i}`);
  }
  // A signature over the bare body (no domain prefix) does not verify.
  const bare = signCommandBytes(bytes, operator.secretKey);
  const o2 = openEnvelope(bare);
  assert.ok(o2.ok && verifyCommandSignature(o2.envelope, operator.publicKey));
});

test('signCommand refuses what the registry refuses: nothing invalid is ever signed', () => {
  assert.throws(() => signCommand(body({ params: { channel: 9, state: 'on' } }), operator.secretKey), /channel/);
  assert.throws(() => signCommand(body({ command: 'self-destruct' }), operator.secretKey), /unknown command/);
  assert.throws(() => signCommand(body({ exp: 1 }), operator.secretKey), /exp/);
  assert.throws(() => signCommand(body({ nonce: new Uint8Array(8) }), operator.secretKey), /nonce/);
  assert.throws(() => signCommand(body({ deviceId: 'GW 1' }), operator.secretKey), /deviceId/);
  assert.throws(() => signCommand(body({ exp: Date.now() + 48 * 3600_000 }), operator.secretKey), /exp/);
});

test('envelopes: unsigned, malformed and wrong-length signatures get their own reasons', () => {
  const b = encode(body());
  const reason = (bytes: Uint8Array) => {
    const r = openEnvelope(bytes);
    return r.ok ? 'ok' : r.reason;
  };
  assert.is(reason(b), 'unsigned', 'a bare body');
  assert.is(reason(encode({ v: 1, body: b, kid: new Uint8Array(8) })), 'unsigned');
  assert.is(reason(encode({ v: 1, body: b, kid: new Uint8Array(8), sig: new Uint8Array(0) })), 'unsigned');
  assert.is(reason(encode({ v: 1, body: b, kid: new Uint8Array(8), sig: new Uint8Array(63) })), 'bad-signature');
  assert.is(reason(encode({ v: 1, body: b, kid: new Uint8Array(7), sig: new Uint8Array(64) })), 'malformed');
  assert.is(reason(encode({ v: 2, body: b, kid: new Uint8Array(8), sig: new Uint8Array(64) })), 'malformed');
  assert.is(reason(encode({ v: 1, body: b, kid: new Uint8Array(8), sig: new Uint8Array(64), extra: 1 })), 'malformed');
  assert.is(reason(encode([1, 2, 3])), 'malformed');
  assert.is(reason(Buffer.from([0xa1, 0x61])), 'malformed', 'truncated CBOR');
  assert.is(reason(new Uint8Array(MAX_ENVELOPE_BYTES + 1)), 'malformed', 'oversize');
  assert.is(reason(new Uint8Array(0)), 'malformed');
});

test('bodies: schema, version, lifetime and limits', () => {
  const good = decodeCommandBody(encode(body()));
  assert.ok(good.ok);
  for (const [what, b] of [
    ['version 2', encode(body({ v: 2 }))],
    ['extra key', encode(body({ colour: 'red' }))],
    ['missing nonce', encode({ ...body(), nonce: undefined })],
    ['float counter', encode(body({ counter: 1.5 }))],
    ['zero counter', encode(body({ counter: 0 }))],
    ['exp before iat', encode(body({ exp: 0 }))],
    ['too deep', encode(body({ params: { a: [[[[[[[[[[1]]]]]]]]]] } }))],
    ['tagged', Buffer.concat([Buffer.from([0xc1]), encode(body())])],
  ] as const) {
    const r = decodeCommandBody(b);
    assert.is(r.ok ? 'ok' : r.reason, 'malformed', what);
  }
});

test('cmd/ack round-trips and is strict about reasons', () => {
  const ack = {
    v: 1 as const,
    id: 'ack-00000001',
    ts: Date.now(),
    cmdId: 'cmd-00000001',
    status: 'rejected' as const,
    reason: 'replay' as const,
    detail: 'nonce used',
  };
  assert.equal(decodeCmdAck(encodeCmdAck(ack)), ack);
  assert.equal(
    decodeCmdAck(
      encodeCmdAck({ v: 1, id: 'ack-00000002', ts: 1, cmdId: null, status: 'rejected', reason: 'malformed' }),
    ).cmdId,
    null,
  );
  assert.throws(
    () => encodeCmdAck({ v: 1, id: 'ack-00000003', ts: 1, cmdId: null, status: 'rejected' }),
    /needs a reason/,
  );
  assert.throws(
    () => decodeCmdAck(encode({ v: 1, id: 'ack-00000004', ts: 1, cmdId: null, status: 'done', reason: 'replay' })),
    /must not have/,
  );
  assert.throws(
    () => decodeCmdAck(encode({ ...ack, reason: 'because' })),
    (e: Error & { code?: string }) => e.code === 'PROTO_INVALID_MESSAGE',
  );
  assert.throws(
    () => decodeCmdAck(encode({ ...ack, detail: 'x'.repeat(301) })),
    (e: Error & { code?: string }) => e.code === 'PROTO_INVALID_MESSAGE',
  );
  assert.throws(
    () => decodeCmdAck(encode({ ...ack, v: 2 })),
    (e: Error & { code?: string }) => e.code === 'PROTO_SCHEMA_VERSION',
  );
  assert.throws(
    () => decodeCmdAck(new Uint8Array(4096)),
    (e: Error & { code?: string }) => e.code === 'PROTO_TOO_LARGE',
  );
});

test.run();
