// Bundle format and streaming: file layout, files and streams as input, the payload sink, inspection,
// deterministic manifests and semantic-version ordering.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { generateKeyPair, keyId } from '../../shared/src/crypto/index.js';
import {
  BUNDLE_MAGIC,
  BundleError,
  compareSemver,
  createBundle,
  createTrust,
  decodeManifest,
  encodeManifest,
  inspectBundle,
  signBundleFile,
  verifyBundle,
  verifyTrustDocument,
  type Manifest,
} from '../../firmware-tools/src/index.js';
import { tmpDir } from '../helpers/tmp.js';

const root = generateKeyPair();
const rel = generateKeyPair();
const rel2 = generateKeyPair();
const trust = verifyTrustDocument(
  createTrust({ rootSigners: [root], releaseKeys: [rel.publicKey, rel2.publicKey], releaseThreshold: 2 }),
);
const dir = tmpDir('edgeward-fw-bundle-');
const payload = randomBytes(3 * 1024 * 1024 + 17); // several read chunks and an odd tail
const payloadPath = join(dir, 'payload.bin');
writeFileSync(payloadPath, payload);
const bundlePath = join(dir, 'fw.bundle');

test('signBundleFile writes frame, header, then the payload; verifyBundle accepts the file', async () => {
  const phases = new Set<string>();
  const signed = await signBundleFile({
    payloadPath,
    outPath: bundlePath,
    signers: [rel, rel2],
    hardware: 'gw-a1',
    version: '3.1.0-rc.2+build.7',
    sequence: 42,
    notes: 'Fixes the watchdog.\nSecond line.',
    onProgress: (phase) => phases.add(phase),
  });
  assert.equal([...phases], ['hashing', 'writing']);
  assert.equal(signed.keyIds, [keyId(rel.publicKey), keyId(rel2.publicKey)]);
  const bytes = readFileSync(bundlePath);
  assert.equal([...bytes.subarray(0, 8)], [...BUNDLE_MAGIC]);
  const offset = 12 + bytes.readUInt32BE(8);
  assert.is(bytes.length, offset + payload.length);
  assert.ok(bytes.subarray(offset).equals(payload), 'the payload follows the header unchanged');

  for (const syncReads of [false, true]) {
    const result = await verifyBundle(bundlePath, { trust, hardware: 'gw-a1', installedSequence: 41, syncReads });
    assert.is(result.payloadOffset, offset);
    assert.is(result.manifest.version, '3.1.0-rc.2+build.7');
    assert.is(result.manifest.notes, 'Fixes the watchdog.\nSecond line.');
    assert.equal([...result.signers].sort(), [keyId(rel.publicKey), keyId(rel2.publicKey)].sort());
  }
});

test('a Readable stream verifies too, and the sink sees exactly the payload, in order', async () => {
  const seen = createHash('sha256');
  let bytes = 0;
  let lastProgress = 0;
  let manifest: Manifest | undefined;
  await verifyBundle(createReadStream(bundlePath, { highWaterMark: 1000 }), {
    trust,
    onManifest: (m) => {
      manifest = m;
      assert.is(bytes, 0, 'the manifest is known before the first payload byte');
    },
    onChunk: async (chunk) => {
      seen.update(chunk);
      bytes += chunk.length;
    },
    onProgress: (done, total) => {
      lastProgress = done;
      assert.is(total, payload.length);
    },
  });
  assert.ok(manifest);
  assert.is(bytes, payload.length);
  assert.is(lastProgress, payload.length);
  assert.is(seen.digest('hex'), createHash('sha256').update(payload).digest('hex'));
});

test('inspectBundle reads the header only and names the signers', async () => {
  const info = await inspectBundle(bundlePath);
  assert.is(info.manifest.sequence, 42);
  assert.is(info.manifest.size, payload.length);
  assert.equal(
    info.signatures.map((s) => s.keyId),
    [keyId(rel.publicKey), keyId(rel2.publicKey)],
  );
  assert.equal(
    info.signatures.map((s) => s.alg),
    [-8, -8],
  );
  const checked = await inspectBundle(bundlePath, trust);
  assert.equal(
    checked.signatures.map((s) => s.check),
    ['valid', 'valid'],
  );
});

test('an empty payload is a valid bundle; a failing stream is FW_IO; a missing file is FW_IO', async () => {
  const empty = createBundle({ hardware: 'gw-a1', version: '1.0.0', sequence: 1 }, new Uint8Array(0), [rel, rel2]);
  assert.is((await verifyBundle(empty, { trust })).manifest.size, 0);
  async function* failing(): AsyncIterable<Uint8Array> {
    yield empty.subarray(0, 20);
    throw new Error('connection reset');
  }
  for (const input of [failing(), join(dir, 'missing.bundle')]) {
    try {
      await verifyBundle(input, { trust });
      assert.unreachable('verified');
    } catch (err) {
      assert.instance(err, BundleError);
      assert.is((err as BundleError).code, 'FW_IO');
    }
  }
});

test('manifests encode deterministically, with sorted keys and integers beyond 32 bits kept as integers', () => {
  const m: Manifest = {
    format: 1,
    hardware: 'gw-a1',
    version: '1.0.0',
    sequence: 2 ** 40,
    size: 2 ** 33 + 5,
    sha256: new Uint8Array(32).fill(1),
    created: 1_900_000_000,
    expires: 1_900_086_400,
  };
  const a = encodeManifest(m);
  const b = encodeManifest({ ...m });
  assert.equal([...a], [...b]);
  const back = decodeManifest(a);
  assert.is(back.sequence, 2 ** 40);
  assert.is(back.size, 2 ** 33 + 5);
  assert.not.ok(Buffer.from(a).includes(0xfb), 'no float64 anywhere');
  // RFC 8949 §4.2.1: keys in bytewise order of their encodings (shorter text first).
  const sorted = ['size', 'format', 'sha256', 'created', 'expires', 'version', 'hardware', 'sequence'];
  const at = sorted.map((k) => Buffer.from(a).indexOf(k));
  assert.equal(
    [...at].sort((x, y) => x - y),
    at,
    `key order ${at.join(',')}`,
  );
  try {
    encodeManifest({ ...m, expires: m.created });
    assert.unreachable('expires before created');
  } catch (err) {
    assert.is((err as BundleError).code, 'FW_MANIFEST_INVALID');
  }
});

test('semantic versions compare by precedence', () => {
  const ordered = [
    '1.0.0-alpha',
    '1.0.0-alpha.1',
    '1.0.0-alpha.beta',
    '1.0.0-beta',
    '1.0.0-beta.2',
    '1.0.0-beta.11',
    '1.0.0-rc.1',
    '1.0.0',
    '1.0.1',
    '1.10.0',
    '2.0.0',
  ];
  for (let i = 0; i + 1 < ordered.length; i++) {
    assert.is(compareSemver(ordered[i]!, ordered[i + 1]!), -1, `${ordered[i]} < ${ordered[i + 1]}`);
    assert.is(compareSemver(ordered[i + 1]!, ordered[i]!), 1);
  }
  assert.is(compareSemver('1.2.3+a', '1.2.3+b'), 0, 'build metadata is ignored');
});

test.run();
