// The one-pass telemetry decoder against the general path (limits scan, cbor-x, schema): on generated payloads
// of every shape agents send it returns exactly the general result, and on mutated and hand-made hostile payloads
// it never accepts what the general path refuses (it gives up, and the general path decides).
import { Encoder } from 'cbor-x';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  decodeDeviceMessage,
  decodeTelemetryFast,
  decodeWith,
  encode,
  MAX_PAYLOAD,
  telemetrySchema,
  type TelemetryMessage,
} from '../../shared/src/index.js';

/** Seeded, so a failure reproduces. */
function rng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = rng(20261128);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
const int = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));
const chars = (alphabet: string, n: number) => Array.from({ length: n }, () => pick([...alphabet])).join('');
const ID = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-';
const NAME_REST = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.';

const general = (b: Uint8Array): TelemetryMessage | Error => {
  try {
    return decodeWith('telemetry', telemetrySchema, b, { maxBytes: MAX_PAYLOAD.telemetry! });
  } catch (err) {
    return err as Error;
  }
};

/** The property: whatever the fast path returns, the general path returns too. */
function agree(b: Uint8Array, label: string): 'fast' | 'general' {
  const fast = decodeTelemetryFast(b);
  const slow = general(b);
  if (fast === undefined) return 'general';
  assert.not.instance(
    slow,
    Error,
    `${label}: the fast path accepted what the general path refuses (${(slow as Error).message}); payload ` +
      `${Buffer.from(b).toString('hex')}`,
  );
  assert.equal(fast, slow, `${label}: results differ; payload ${Buffer.from(b).toString('hex')}`);
  return 'fast';
}

const number = () =>
  pick([
    () => int(0, 23),
    () => int(24, 65535),
    () => int(0, 2 ** 32 - 1),
    () => -int(1, 2 ** 31),
    () => int(0, 2 ** 52),
    () => random() * 1000 - 500,
    () => Math.fround(random() * 100),
    () => 0.1,
    () => 1e300,
    () => -0,
  ])();

function message(): Record<string, unknown> {
  const samples = Array.from({ length: int(1, 4) }, () => {
    const m: Record<string, number> = {};
    for (let i = int(0, 8); i > 0; i--)
      m[pick([...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ']) + chars(NAME_REST, int(0, 12))] = number();
    return shuffled({
      seq: pick([1, int(1, 2 ** 32 - 1), int(1, 2 ** 53 - 1)]),
      ts: pick([0, Date.now(), int(0, 2 ** 32 - 1)]),
      m,
    });
  });
  const base: Record<string, unknown> = {
    v: 1,
    id: chars(ID, int(8, 64)),
    ts: pick([Date.now(), int(0, 1000), 0]),
    stream: chars(ID, int(8, 64)),
    samples,
  };
  if (random() < 0.3) base.dropped = pick([0, int(1, 1e6), 2 ** 40]);
  return shuffled(base);
}

/** The same keys, inserted in a random order (CBOR maps keep it). */
function shuffled(o: Record<string, unknown>): Record<string, unknown> {
  const keys = Object.keys(o).sort(() => random() - 0.5);
  return Object.fromEntries(keys.map((k) => [k, o[k]]));
}

// Agents encode floats as float64; a float32 encoder covers the other float the fast path reads.
const f32 = new Encoder({ useRecords: false, tagUint8Array: false, variableMapSize: true, pack: false, useFloat32: 1 });

test('generated payloads: the fast path takes them and returns exactly the general result', () => {
  let fast = 0;
  for (let i = 0; i < 3000; i++) {
    const m = message();
    for (const b of [encode(m), f32.encode(m) as Uint8Array]) if (agree(b, `generated #${i}`) === 'fast') fast++;
  }
  assert.ok(fast > 5900, `the fast path took ${fast} of 6000`);
  // And decodeDeviceMessage returns the same through it.
  const b = encode(message());
  assert.equal(decodeDeviceMessage('telemetry', b), { kind: 'telemetry', message: general(b) });
});

test(
  'mutated payloads: a flipped, cut, added or removed byte is never accepted unless the general ' + 'path accepts it',
  () => {
    let cases = 0;
    for (let i = 0; i < 1500; i++) {
      const b = Buffer.from(encode(message()));
      const at = int(0, b.length - 1);
      const flipped = Buffer.from(b);
      flipped[at] = pick([
        flipped[at]! ^ (1 << int(0, 7)),
        int(0, 255),
        0xff,
        0xf9,
        0xfb,
        0x1b,
        0x9f,
        0xbf,
        0xc1,
        0xf7,
        0x80,
      ]);
      for (const v of [
        flipped,
        b.subarray(0, at),
        Buffer.concat([b, Buffer.from([int(0, 255)])]),
        Buffer.concat([b.subarray(0, at), b.subarray(at + 1)]),
      ]) {
        agree(v, `mutation #${i}`);
        cases++;
      }
    }
    assert.ok(cases === 6000);
  },
);

/** `value` encoded, with a part of its hex replaced (and `suffix` appended): hand-made CBOR. */
const hex = (value: unknown, from: string | RegExp, to: string, suffix = '') => {
  const h = encode(value).toString('hex');
  const changed = h.replace(from, to) + suffix;
  assert.is.not(changed, h + suffix, `fixture: ${String(from)} not found`);
  return Buffer.from(changed, 'hex');
};

test(
  'payloads the fast path leaves to the general path: what the schema or the limits refuse, and ' + 'unusual encodings',
  () => {
    const ok = { v: 1, id: 'msg-00000001', ts: 1, stream: 'stream-0001', samples: [{ seq: 1, ts: 1, m: { t: 1 } }] };
    const sample = ok.samples[0]!;
    const refused: [string, Uint8Array][] = [
      ['seq 0', encode({ ...ok, samples: [{ ...sample, seq: 0 }] })],
      ['seq 1.5', encode({ ...ok, samples: [{ ...sample, seq: 1.5 }] })],
      ['NaN metric', encode({ ...ok, samples: [{ ...sample, m: { t: Number.NaN } }] })],
      ['Infinity metric', encode({ ...ok, samples: [{ ...sample, m: { t: Infinity } }] })],
      ['reserved metric name', encode({ ...ok, samples: [{ ...sample, m: { constructor: 1 } }] })],
      ['bad metric name', encode({ ...ok, samples: [{ ...sample, m: { '1t': 1 } }] })],
      [
        '33 metrics',
        encode({
          ...ok,
          samples: [{ ...sample, m: Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`m${i}`, i])) }],
        }),
      ],
      ['no samples', encode({ ...ok, samples: [] })],
      ['501 samples', encode({ ...ok, samples: Array.from({ length: 501 }, (_, i) => ({ ...sample, seq: i + 1 })) })],
      [
        'more items than the limit',
        encode({
          ...ok,
          samples: Array.from({ length: 500 }, (_, i) => ({
            ...sample,
            seq: i + 1,
            m: Object.fromEntries(Array.from({ length: 32 }, (_, j) => [`m${j}`, j])),
          })),
        }),
      ],
      ['unknown key', encode({ ...ok, extra: 1 })],
      ['missing id', encode({ v: 1, ts: 1, stream: 'stream-0001', samples: ok.samples, dropped: 0 })],
      ['v 2', encode({ ...ok, v: 2 })],
      ['short id', encode({ ...ok, id: 'short' })],
      ['id with a space', encode({ ...ok, id: 'msg 00000001' })],
      ['non-ASCII stream', encode({ ...ok, stream: 'stréam-0001' })],
      ['negative ts', encode({ ...ok, ts: -1 })],
      ['ts beyond the limit', encode({ ...ok, ts: 8_640_000_000_000_001 })],
      ['negative dropped', encode({ ...ok, dropped: -1 })],
      ['trailing byte', Buffer.concat([encode(ok), Buffer.from([0])])],
      // Hand-made CBOR: a repeated key, a repeated metric, an indefinite map, a tag, a half float, an 8-byte int.
      [
        'repeated key',
        Buffer.concat([
          Buffer.from([0xa6]),
          encode('v'),
          encode(1),
          encode('v'),
          encode(1),
          ...['id', 'ts', 'stream', 'samples'].flatMap((k) => [encode(k), encode((ok as Record<string, unknown>)[k])]),
        ]),
      ],
      ['repeated metric', hex(ok, 'a1617401', 'a2617401617402')],
      ['indefinite map', hex(ok, /^a5/, 'bf', 'ff')],
      ['tagged ts', hex(ok, '62747301', '627473c101')],
      ['half-float metric', hex(ok, '617401', '6174f93c00')],
      ['8-byte seq', hex(ok, '6373657101', '637365711b0000000000000001')],
    ];
    for (const [label, b] of refused) {
      assert.ok(b.length > 0, `${label}: fixture`);
      assert.is(decodeTelemetryFast(b), undefined, `${label}: the fast path must give up`);
      agree(b, label);
    }
    // The general path decides: a half float is a number to it; a repeated key or metric is refused.
    const verdict = (label: string) => general(refused.find(([l]) => l === label)![1]);
    assert.not.instance(verdict('half-float metric'), Error);
    assert.instance(verdict('repeated key'), Error);
    assert.instance(verdict('repeated metric'), Error);
  },
);

test.run();
