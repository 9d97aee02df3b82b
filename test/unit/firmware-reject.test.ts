// Every reason a bundle is refused, one row each, through the public verifyBundle and through the file verifier
// of `fw verify`: the code must be exact.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { generateKeyPair, GROUP_ORDER, keyIdBytes, sign, type Ed25519KeyPair } from '../../shared/src/crypto/index.js';
import {
  concatBytes,
  encodeCbor,
  TaggedValue,
  type CborValue,
} from '../../firmware-tools/src/bundle/cbor-deterministic.js';
import { encodeFrame } from '../../firmware-tools/src/bundle/format.js';
import { verifyBundleFile } from '../../firmware-tools/src/bundle/verify-file.js';
import {
  BundleError,
  buildManifest,
  createBundle,
  createTrust,
  encodeManifest,
  MANIFEST_CONTENT_TYPE,
  sigStructure1,
  TRUST_CONTENT_TYPE,
  verifyBundle,
  verifyTrustDocument,
  type BundleInput,
  type TrustState,
  type VerifyOptions,
} from '../../firmware-tools/src/index.js';

const NOW = Date.UTC(2030, 0, 1);
const DAY = 86_400_000;
const root = generateKeyPair();
const rel = generateKeyPair();
const rel2 = generateKeyPair();
const stranger = generateKeyPair();
const trust = verifyTrustDocument(createTrust({ rootSigners: [root], releaseKeys: [rel.publicKey], now: NOW }), {
  now: NOW,
});
const trust2of2 = verifyTrustDocument(
  createTrust({ rootSigners: [root], releaseKeys: [rel.publicKey, rel2.publicKey], releaseThreshold: 2, now: NOW }),
  { now: NOW },
);
const shortTrust = verifyTrustDocument(
  createTrust({ rootSigners: [root], releaseKeys: [rel.publicKey], lifetimeSeconds: 86_400, now: NOW }),
  { now: NOW },
);
const payload = randomBytes(200_000);
const spec = { hardware: 'rpi4-gw', version: '1.4.2', sequence: 10, minAgentVersion: '2.0.0', now: NOW };
const good = createBundle(spec, payload, [rel]);
const manifestBytes = encodeManifest(buildManifest(spec, payload.length, createHashOf(payload)));

function createHashOf(b: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(b).digest());
}

/** A COSE_Sign1 with any protected header, really signed by `key`. */
function cose(body: Uint8Array, key: Ed25519KeyPair, header: Map<number, CborValue> = defaultHeader(key)): TaggedValue {
  const p = encodeCbor(header);
  return new TaggedValue(18, [p, new Map(), body, sign(sigStructure1(p, body), key.secretKey)]);
}
function defaultHeader(key: Ed25519KeyPair, contentType = MANIFEST_CONTENT_TYPE): Map<number, CborValue> {
  return new Map<number, CborValue>([
    [1, -8],
    [3, contentType],
    [4, keyIdBytes(key.publicKey)],
  ]);
}
function bundle(items: TaggedValue[], body: Uint8Array = payload): Uint8Array {
  const header = encodeCbor(items);
  return concatBytes([encodeFrame(header.length), header, body]);
}
/** Overwrites every occurrence of `find` (an attacker edits every copy of the manifest). */
function replace(buf: Uint8Array, find: string, repl: string): Uint8Array {
  const out = Buffer.from(buf);
  let at = out.indexOf(find);
  assert.ok(at >= 0, `"${find}" not found`);
  for (; at >= 0; at = out.indexOf(find, at + 1)) out.write(repl, at);
  return out;
}
/** The bundle with its (single) signature's S replaced by S + L: the same scalar mod L, a malleable encoding. */
function withMalleableS(b: Uint8Array): Uint8Array {
  const out = Buffer.from(b);
  const end = 12 + out.readUInt32BE(8);
  let s = 0n;
  for (let i = 31; i >= 0; i--) s = (s << 8n) | BigInt(out[end - 32 + i]!);
  s += GROUP_ORDER;
  for (let i = 0; i < 32; i++, s >>= 8n) out[end - 32 + i] = Number(s & 0xffn);
  return out;
}
function withR(b: Uint8Array, r: string): Uint8Array {
  const out = Buffer.from(b);
  const end = 12 + out.readUInt32BE(8);
  Buffer.from(r, 'hex').copy(out, end - 64);
  return out;
}
function signedManifest(value: Record<string, CborValue>): Uint8Array {
  return bundle([cose(encodeCbor(value), rel)]);
}
const baseManifest = (): Record<string, CborValue> => ({
  format: 1,
  hardware: 'rpi4-gw',
  version: '1.4.2',
  sequence: 10,
  size: payload.length,
  sha256: createHashOf(payload),
  created: NOW / 1000,
  expires: NOW / 1000 + 90 * 86_400,
});

async function* endless(head: Uint8Array, pulled: { bytes: number; closed: boolean }): AsyncIterable<Uint8Array> {
  try {
    yield head;
    const chunk = new Uint8Array(64 * 1024);
    for (;;) {
      pulled.bytes += chunk.length;
      yield chunk;
    }
  } finally {
    pulled.closed = true;
  }
}
async function* chunked(b: Uint8Array, size: number): AsyncIterable<Uint8Array> {
  for (let i = 0; i < b.length; i += size) yield b.subarray(i, i + size);
}

interface Row {
  readonly name: string;
  readonly code: string; // 'valid' for the control rows
  readonly input: () => BundleInput | Uint8Array;
  readonly trust?: TrustState;
  readonly opts?: Partial<VerifyOptions>;
}

const head = good.subarray(0, good.length - payload.length);
const rows: Row[] = [
  {
    name: 'control: a good bundle',
    code: 'valid',
    input: () => good,
    opts: { hardware: 'rpi4-gw', installedSequence: 9, agentVersion: '2.0.0' },
  },
  { name: 'control: split into 7-byte chunks', code: 'valid', input: () => chunked(good, 7) },
  {
    name: 'control: an extra signature by an unknown key is ignored',
    code: 'valid',
    input: () => bundle([cose(manifestBytes, stranger), cose(manifestBytes, rel)]),
  },
  { name: 'tampered manifest', code: 'FW_SIG_INVALID', input: () => replace(good, 'rpi4-gw', 'rpi5-gw') },
  {
    name: 'tampered manifest, two signatures',
    code: 'FW_SIG_INVALID',
    input: () => replace(createBundle(spec, payload, [rel, rel2]), '1.4.2', '9.4.2'),
    trust: trust2of2,
  },
  {
    name: 'tampered payload',
    code: 'FW_PAYLOAD_DIGEST',
    input: () => Uint8Array.from([...good.subarray(0, -1), good[good.length - 1]! ^ 1]),
  },
  { name: 'truncated inside the frame', code: 'FW_TRUNCATED', input: () => good.subarray(0, 10) },
  { name: 'truncated inside the manifest', code: 'FW_TRUNCATED', input: () => good.subarray(0, head.length - 5) },
  { name: 'empty file', code: 'FW_TRUNCATED', input: () => new Uint8Array(0) },
  { name: 'payload shorter than declared', code: 'FW_PAYLOAD_SHORT', input: () => good.subarray(0, good.length - 1) },
  {
    name: 'payload longer than declared',
    code: 'FW_PAYLOAD_LONG',
    input: () => concatBytes([good, new Uint8Array(1)]),
  },
  { name: 'wrong hardware', code: 'FW_WRONG_HARDWARE', input: () => good, opts: { hardware: 'rpi3-gw' } },
  { name: 'expired manifest', code: 'FW_EXPIRED', input: () => good, opts: { now: NOW + 90 * DAY } },
  { name: 'rollback: same sequence', code: 'FW_ROLLBACK', input: () => good, opts: { installedSequence: 10 } },
  { name: 'rollback: older sequence', code: 'FW_ROLLBACK', input: () => good, opts: { installedSequence: 11 } },
  { name: 'agent too old', code: 'FW_AGENT_TOO_OLD', input: () => good, opts: { agentVersion: '2.0.0-rc.1' } },
  { name: 'unknown key', code: 'FW_UNKNOWN_KEY', input: () => createBundle(spec, payload, [stranger]) },
  {
    name: 'too few signatures for the threshold',
    code: 'FW_THRESHOLD',
    input: () => createBundle(spec, payload, [rel]),
    trust: trust2of2,
  },
  {
    name: 'a key that signed twice counts once',
    code: 'FW_DUPLICATE_SIGNER',
    input: () => createBundle(spec, payload, [rel, rel]),
    trust: trust2of2,
  },
  {
    name: 'wrong algorithm (ES256)',
    code: 'FW_BAD_ALG',
    input: () => bundle([cose(manifestBytes, rel, new Map<number, CborValue>([...defaultHeader(rel), [1, -7]]))]),
  },
  { name: 'malleable signature (S + L)', code: 'FW_SIG_MALLEABLE', input: () => withMalleableS(good) },
  {
    name: 'non-canonical R (y = p)',
    code: 'FW_SIG_MALLEABLE',
    input: () => withR(good, 'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f'),
  },
  {
    name: 'small-order R (identity)',
    code: 'FW_SIG_MALLEABLE',
    input: () => withR(good, '0100000000000000000000000000000000000000000000000000000000000000'),
  },
  {
    name: 'trust document expired',
    code: 'FW_TRUST_EXPIRED',
    input: () => good,
    trust: shortTrust,
    opts: { now: NOW + 2 * DAY },
  },
  {
    name: 'critical header not understood',
    code: 'FW_CRIT_UNSUPPORTED',
    input: () =>
      bundle([
        cose(manifestBytes, rel, new Map<number, CborValue>([...defaultHeader(rel), [2, [-70000]], [-70000, 1]])),
      ]),
  },
  { name: 'not a bundle (bad magic)', code: 'FW_BAD_FORMAT', input: () => replace(good, 'EWFW', 'EWFX') },
  {
    name: 'declared header length beyond the limit',
    code: 'FW_BAD_FORMAT',
    input: () => Uint8Array.from([...good.subarray(0, 8), 0x7f, 0, 0, 0, ...good.subarray(12)]),
  },
  {
    name: 'a trust document where the manifest belongs',
    code: 'FW_BAD_FORMAT',
    input: () => bundle([cose(manifestBytes, rel, defaultHeader(rel, TRUST_CONTENT_TYPE))]),
  },
  {
    name: 'signatures over different manifests',
    code: 'FW_BAD_FORMAT',
    input: () => bundle([cose(manifestBytes, rel), cose(replace(manifestBytes, '1.4.2', '1.4.3'), rel2)]),
  },
  {
    name: 'signed manifest missing a field',
    code: 'FW_MANIFEST_INVALID',
    input: () => signedManifest({ ...baseManifest(), sha256: undefined as unknown as CborValue }),
  },
  {
    name: 'signed manifest with an unknown field',
    code: 'FW_MANIFEST_INVALID',
    input: () => signedManifest({ ...baseManifest(), extra: 1 }),
  },
  {
    name: 'signed manifest of another format version',
    code: 'FW_FORMAT_VERSION',
    input: () => signedManifest({ ...baseManifest(), format: 2 }),
  },
];

for (const row of rows) {
  test(`${row.code}: ${row.name}`, async () => {
    const raw = row.input();
    const input: BundleInput = raw instanceof Uint8Array ? chunked(raw, 4096) : raw;
    const opts: VerifyOptions = { trust: row.trust ?? trust, now: NOW, ...row.opts };
    try {
      const result = await verifyBundle(input, opts);
      assert.is('valid', row.code, `verified, expected ${row.code}`);
      assert.is(result.manifest.hardware, 'rpi4-gw');
    } catch (err) {
      if (!(err instanceof BundleError)) throw err;
      assert.is(err.code, row.code, err.message);
    }
  });
}

// fw verify reads files with verifyBundleFile (synchronous reads, no stream): every row must give the same verdict
// there.
const dir = mkdtempSync(join(tmpdir(), 'edgeward-fw-reject-'));
let fileNo = 0;
for (const row of rows) {
  test(`file: ${row.code}: ${row.name}`, async () => {
    const raw = row.input();
    if (!(raw instanceof Uint8Array)) return; // a stream row; files are covered by the others
    const file = join(dir, `b${fileNo++}.bundle`);
    writeFileSync(file, raw);
    const { now = NOW, hardware, installedSequence, agentVersion } = row.opts ?? {};
    try {
      const { bundle: result, trust: used } = await verifyBundleFile(file, {
        trustDocuments: [(row.trust ?? trust).document],
        now,
        ...(hardware !== undefined ? { hardware } : {}),
        ...(installedSequence !== undefined ? { installedSequence } : {}),
        ...(agentVersion !== undefined ? { agentVersion } : {}),
      });
      assert.is('valid', row.code, `verified, expected ${row.code}`);
      assert.is(result.manifest.hardware, 'rpi4-gw');
      assert.is(used.version, (row.trust ?? trust).version);
    } catch (err) {
      if (!(err instanceof BundleError)) throw err;
      assert.is(err.code, row.code, err.message);
    }
  });
}
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('FW_PAYLOAD_LONG: an endless stream is read only to the declared size plus one chunk, then closed', async () => {
  const pulled = { bytes: 0, closed: false };
  const manifestSize = payload.length;
  try {
    await verifyBundle(endless(head, pulled), { trust, now: NOW });
    assert.unreachable('an endless payload verified');
  } catch (err) {
    assert.instance(err, BundleError);
    assert.is((err as BundleError).code, 'FW_PAYLOAD_LONG');
  }
  assert.ok(pulled.bytes <= manifestSize + 64 * 1024, `pulled ${pulled.bytes} bytes`);
  assert.ok(pulled.closed, 'the stream was closed');
});

test(
  'the signature covers the exact bytes: a valid but non-canonical manifest encoding ' + 'verifies as signed',
  async () => {
    // sequence 10 written as a 4-byte integer (1a 0000000a) instead of the shortest form: never re-encoded.
    const odd = Buffer.from(manifestBytes);
    const at = odd.indexOf('sequence') + 'sequence'.length;
    assert.is(odd[at], 0x0a);
    const bytes = concatBytes([odd.subarray(0, at), Uint8Array.of(0x1a, 0, 0, 0, 0x0a), odd.subarray(at + 1)]);
    const result = await verifyBundle(chunked(bundle([cose(bytes, rel)]), 1000), { trust, now: NOW });
    assert.is(result.manifest.sequence, 10);
    assert.equal([...result.manifestBytes], [...bytes]);
  },
);

test('small-order or non-canonical release keys make the trust document FW_KEY_WEAK', () => {
  for (const weak of [
    '0100000000000000000000000000000000000000000000000000000000000000',
    'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  ]) {
    const body = encodeCbor({
      format: 1,
      version: 1,
      created: NOW / 1000,
      expires: NOW / 1000 + 86_400,
      rootKeys: [root.publicKey],
      rootThreshold: 1,
      releaseKeys: [new Uint8Array(Buffer.from(weak, 'hex'))],
      releaseThreshold: 1,
    });
    const doc = encodeCbor([cose(body, root, defaultHeader(root, TRUST_CONTENT_TYPE))]);
    try {
      verifyTrustDocument(doc, { now: NOW });
      assert.unreachable('weak key accepted');
    } catch (err) {
      assert.instance(err, BundleError);
      assert.is((err as BundleError).code, 'FW_KEY_WEAK');
    }
  }
});

test.run();
