// The sealed envelope: round trips, the PEM key files, and each refusal with its code.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  encode,
  generateSealKeyPair,
  isSealedEnvelope,
  openEnvelope,
  parseEnvelope,
  parseSealPublicKeyPem,
  parseSealSecretKeyPem,
  sealMessage,
  sealChannel,
  SealError,
  sealPublicKeyToPem,
  sealSecretKeyToPem,
} from '../../shared/src/index.js';
import nacl from 'tweetnacl';
import { tmpDir } from '../helpers/tmp.js';

const device = generateSealKeyPair();
const backend = generateSealKeyPair();
const toBackend = sealChannel(device, backend.publicKey);
const fromDevice = sealChannel(backend, device.publicKey);
const topic = 'fleet/v1/dev-1/telemetry';
const message = encode({ v: 1, stream: 's', samples: [{ seq: 1, ts: 1, m: { t: 20.5 } }] });

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.instance(err, SealError);
    return (err as SealError).code;
  }
  throw new Error('expected a SealError');
}

const open = (bytes: Uint8Array, channel = fromDevice, t = topic) => openEnvelope(channel, parseEnvelope(bytes), t);

test('a sealed message opens to the same bytes, both ways, with a fresh nonce each time', () => {
  const a = sealMessage(toBackend, topic, message);
  const b = sealMessage(toBackend, topic, message);
  assert.ok(isSealedEnvelope(a));
  assert.not.ok(isSealedEnvelope(message), 'a plain device message (a CBOR map) is not taken for an envelope');
  assert.not.equal(Buffer.from(a), Buffer.from(b));
  assert.equal(Buffer.from(open(a)), message);
  const cmd = sealMessage(fromDevice, 'fleet/v1/dev-1/cmd', Buffer.from('command'));
  assert.equal(Buffer.from(open(cmd, toBackend, 'fleet/v1/dev-1/cmd')).toString(), 'command');
  assert.not.ok(Buffer.from(a).includes(Buffer.from('samples')), 'no field name in the clear');
});

test('the envelope carries the version, both key ids and a 24-byte nonce', () => {
  const env = parseEnvelope(sealMessage(toBackend, topic, message));
  assert.is(env.version, 1);
  assert.equal(Buffer.from(env.senderKid), Buffer.from(device.kid));
  assert.equal(Buffer.from(env.recipientKid), Buffer.from(backend.kid));
  assert.is(env.nonce.length, 24);
});

test('refused: a flipped bit anywhere in the box or nonce', () => {
  const sealed = sealMessage(toBackend, topic, message);
  for (const at of [sealed.length - 1, sealed.length - 20, sealed.length - message.length - 30]) {
    const bad = Buffer.from(sealed);
    bad[at]! ^= 0x01;
    assert.is(
      code(() => open(bad)),
      'SEAL_AUTH_FAILED',
      `bit flipped at ${at}`,
    );
  }
});

test('refused: sealed for another backend, by another device, or moved to another topic', () => {
  const otherBackend = generateSealKeyPair();
  const forOther = sealMessage(sealChannel(device, otherBackend.publicKey), topic, message);
  assert.is(
    code(() => open(forOther)),
    'SEAL_UNKNOWN_KEY',
  );
  // Another device's key: the backend's channel for dev-1 does not know it.
  const other = generateSealKeyPair();
  assert.is(
    code(() => open(sealMessage(sealChannel(other, backend.publicKey), topic, message))),
    'SEAL_UNKNOWN_KEY',
  );
  // Another device sealing under dev-1's key id: the box does not authenticate.
  const forged = parseEnvelope(sealMessage(sealChannel(other, backend.publicKey), topic, message));
  const spoofed = encode([1, device.kid, backend.kid, forged.nonce, forged.box]);
  assert.is(
    code(() => open(spoofed)),
    'SEAL_AUTH_FAILED',
  );
  assert.is(
    code(() => open(sealMessage(toBackend, topic, message), fromDevice, 'fleet/v1/dev-2/telemetry')),
    'SEAL_AUTH_FAILED',
  );
  assert.is(
    code(() => open(sealMessage(toBackend, topic, message), fromDevice, 'fleet/v1/dev-1/status')),
    'SEAL_AUTH_FAILED',
  );
});

test('refused: not an envelope, a bad frame, or an unknown version', () => {
  assert.is(
    code(() => parseEnvelope(message)),
    'SEAL_BAD_ENVELOPE',
  );
  assert.is(
    code(() => parseEnvelope(new Uint8Array())),
    'SEAL_BAD_ENVELOPE',
  );
  assert.is(
    code(() => parseEnvelope(Buffer.from([0x85, 0x01]))),
    'SEAL_BAD_ENVELOPE',
  );
  assert.is(
    code(() => parseEnvelope(encode([1, 'a', 'b', 'c', 'd']))),
    'SEAL_BAD_ENVELOPE',
  );
  assert.is(
    code(() => parseEnvelope(encode([1, device.kid, backend.kid, new Uint8Array(23), new Uint8Array(40)]))),
    'SEAL_BAD_ENVELOPE',
  );
  assert.is(
    code(() => parseEnvelope(encode([[[[1]]]]))),
    'SEAL_BAD_ENVELOPE',
  );
  const env = parseEnvelope(sealMessage(toBackend, topic, message));
  assert.is(
    code(() => parseEnvelope(encode([2, env.senderKid, env.recipientKid, env.nonce, env.box]))),
    'SEAL_VERSION',
  );
});

test('key files: PKCS#8 and SPKI PEM that OpenSSL reads; wrong or weak keys are refused', () => {
  const dir = tmpDir('edgeward-seal-');
  const pem = sealSecretKeyToPem(device);
  const back = parseSealSecretKeyPem(pem);
  assert.equal(Buffer.from(back.publicKey), Buffer.from(device.publicKey));
  assert.equal(Buffer.from(back.secretKey), Buffer.from(device.secretKey));
  assert.equal(Buffer.from(back.kid), Buffer.from(device.kid));
  // The public half comes from OpenSSL as it reads the key: the same as NaCl derives from the secret.
  const made = parseSealSecretKeyPem(
    execFileSync('openssl', ['genpkey', '-algorithm', 'X25519'], { encoding: 'utf8' }),
  );
  assert.equal(Buffer.from(made.publicKey), Buffer.from(nacl.box.keyPair.fromSecretKey(made.secretKey).publicKey));
  assert.equal(Buffer.from(parseSealPublicKeyPem(sealPublicKeyToPem(device.publicKey))), Buffer.from(device.publicKey));
  writeFileSync(join(dir, 'seal.key'), pem);
  const pub = execFileSync('openssl', ['pkey', '-in', join(dir, 'seal.key'), '-pubout'], { encoding: 'utf8' });
  assert.is(pub, sealPublicKeyToPem(device.publicKey));
  assert.is(
    code(() => parseSealSecretKeyPem('nope')),
    'SEAL_KEY_INVALID',
  );
  const ec = execFileSync('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'], {
    encoding: 'utf8',
  });
  assert.is(
    code(() => parseSealSecretKeyPem(ec)),
    'SEAL_KEY_INVALID',
  );
  // The identity point (u = 0) has small order: every shared key with it is zero.
  assert.is(
    code(() => sealChannel(device, new Uint8Array(32))),
    'SEAL_KEY_INVALID',
  );
});

test('the shared key of a channel is nacl.box.before of the two keys; every small-order peer key is refused', () => {
  for (let i = 0; i < 20; i++) {
    const own = generateSealKeyPair();
    const peer = generateSealKeyPair();
    assert.equal(
      Buffer.from(sealChannel(own, peer.publicKey).shared),
      Buffer.from(nacl.box.before(peer.publicKey, own.secretKey)),
    );
  }
  // The points of order 1, 2, 4 and 8 on Curve25519 (u = 0, 1, -1 and the order-8 pair), and the same with the
  // top bit set, which X25519 ignores.
  const p = 2n ** 255n - 19n;
  const small = [0n, 1n, p - 1n, 325606250916557431795983626356110631294008115727848805560023387167927233504n];
  small.push(39382357235489614581723060781553021112529911719440698176882885853963445705823n);
  const le = (n: bigint) => Uint8Array.from({ length: 32 }, (_, i) => Number((n >> BigInt(8 * i)) & 0xffn));
  for (const u of small) {
    for (const top of [0, 0x80]) {
      const key = le(u);
      key[31]! |= top;
      assert.is(
        code(() => sealChannel(device, key)),
        'SEAL_KEY_INVALID',
        `u = ${u}, top bit ${top}`,
      );
    }
  }
  assert.is(
    code(() => sealChannel(device, new Uint8Array(31))),
    'SEAL_KEY_INVALID',
  );
});

test.run();
