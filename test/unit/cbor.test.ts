import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decode, encode, ProtocolError } from '../../shared/src/index.js';

function code(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    assert.instance(err, ProtocolError);
    return (err as ProtocolError).code;
  }
}

test('round-trips plain values', () => {
  const v = { a: 1, b: 'x', c: [1, 2.5, true, null], d: new Uint8Array([1, 2, 3]), e: { f: -7 } };
  const out = decode(encode(v)) as Record<string, unknown>;
  assert.equal(out.a, 1);
  assert.equal(out.c, [1, 2.5, true, null]);
  assert.equal([...(out.d as Uint8Array)], [1, 2, 3]);
  assert.equal(out.e, { f: -7 });
});

test('byte strings are untagged and maps have minimal headers', () => {
  const bytes = encode({ d: new Uint8Array([9]) });
  assert.equal([...bytes], [0xa1, 0x61, 0x64, 0x41, 0x09]);
});

test('truncated input is PROTO_BAD_CBOR', () => {
  const full = encode({ samples: [1, 2, 3], name: 'hello' });
  for (let cut = 1; cut < full.length; cut++) {
    assert.is(
      code(() => decode(full.subarray(0, cut))),
      'PROTO_BAD_CBOR',
      `cut at ${cut}`,
    );
  }
  assert.is(
    code(() => decode(new Uint8Array(0))),
    'PROTO_BAD_CBOR',
  );
});

test('trailing bytes, indefinite lengths, reserved info and break are refused', () => {
  assert.is(
    code(() => decode(Buffer.from([0x01, 0x02]))),
    'PROTO_BAD_CBOR',
  );
  assert.is(
    code(() => decode(Buffer.from([0x9f, 0x01, 0xff]))),
    'PROTO_BAD_CBOR',
  );
  assert.is(
    code(() => decode(Buffer.from([0x1c]))),
    'PROTO_BAD_CBOR',
  );
  assert.is(
    code(() => decode(Buffer.from([0xff]))),
    'PROTO_BAD_CBOR',
  );
  assert.is(
    code(() => decode(Buffer.from([0x62, 0xc3, 0x28]))),
    'PROTO_BAD_CBOR',
    'invalid UTF-8',
  );
});

test('text: short ASCII, short non-ASCII and long texts are checked as UTF-8 alike', () => {
  for (const text of ['plain', 'température', 'ü'.repeat(40), 'a'.repeat(64), 'a'.repeat(65), `${'a'.repeat(70)}é`])
    assert.is(decode(encode(text)), text);
  const long = Buffer.concat([Buffer.from([0x78, 70]), Buffer.alloc(69, 0x61), Buffer.from([0xff])]);
  assert.is(
    code(() => decode(long)),
    'PROTO_BAD_CBOR',
    'invalid UTF-8 after 69 ASCII bytes',
  );
  assert.is(
    code(() => decode(Buffer.from([0x63, 0x61, 0x62, 0x80]))),
    'PROTO_BAD_CBOR',
    'a lone continuation byte in a short text',
  );
});

test('a huge declared length on a short input is a truncation, not an allocation', () => {
  assert.is(
    code(() => decode(Buffer.from([0x9b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]))),
    'PROTO_BAD_CBOR',
  );
  assert.is(
    code(() => decode(Buffer.from([0x5a, 0xff, 0xff, 0xff, 0xff, 0x00]))),
    'PROTO_BAD_CBOR',
  );
});

test('oversized payload is PROTO_TOO_LARGE', () => {
  assert.is(
    code(() => decode(encode({ big: 'x'.repeat(70_000) }))),
    'PROTO_TOO_LARGE',
  );
  assert.is(
    code(() => decode(encode([1, 2, 3]), { maxBytes: 3 })),
    'PROTO_TOO_LARGE',
  );
});

test('deep nesting is PROTO_TOO_DEEP, even far beyond the stack', () => {
  const deep = Buffer.alloc(100_000, 0x81);
  assert.is(
    code(() => decode(deep, { maxBytes: 200_000 })),
    'PROTO_TOO_DEEP',
  );
  let v: unknown = 1;
  for (let i = 0; i < 16; i++) v = [v];
  assert.equal(
    code(() => decode(encode(v))),
    undefined,
    '16 levels are fine',
  );
  assert.is(
    code(() => decode(encode([v]))),
    'PROTO_TOO_DEEP',
  );
});

test('too many items is PROTO_TOO_MANY_ITEMS', () => {
  assert.is(
    code(() => decode(encode(new Array(30_000).fill(0)))),
    'PROTO_TOO_MANY_ITEMS',
  );
});

test('tags are refused unless allowed', () => {
  const tagged = Buffer.from([0xd2, 0x80]); // 18([])
  assert.is(
    code(() => decode(tagged)),
    'PROTO_UNEXPECTED_TAG',
  );
  assert.is(
    code(() => decode(Buffer.from([0xc1, 0x00]))),
    'PROTO_UNEXPECTED_TAG',
    'epoch date tag',
  );
  assert.ok(decode(tagged, { allowedTags: new Set([18]) }) !== undefined);
});

test('map keys: non-text, duplicate and reserved keys are refused', () => {
  assert.is(
    code(() => decode(Buffer.from([0xa1, 0x01, 0x02]))),
    'PROTO_BAD_KEY',
  );
  assert.is(
    code(() => decode(Buffer.from([0xa2, 0x61, 0x61, 0x01, 0x61, 0x61, 0x02]))),
    'PROTO_BAD_KEY',
  );
  const proto = Buffer.concat([Buffer.from([0xa1, 0x69]), Buffer.from('__proto__'), Buffer.from([0xa0])]);
  assert.is(
    code(() => decode(proto)),
    'PROTO_BAD_KEY',
  );
  const longHead = Buffer.concat([Buffer.from([0xa1, 0x78, 0x09]), Buffer.from('__proto__'), Buffer.from([0xa0])]);
  assert.is(
    code(() => decode(longHead)),
    'PROTO_BAD_KEY',
    'a non-minimal length head does not hide it',
  );
  const ctor = Buffer.concat([Buffer.from([0xa1, 0x6b]), Buffer.from('constructor'), Buffer.from([0x01])]);
  assert.is(
    code(() => decode(ctor)),
    'PROTO_BAD_KEY',
  );
  assert.ok(decode(Buffer.from([0xa1, 0x01, 0x02]), { textKeysOnly: false }) instanceof Map);
});

test('simple values other than false/true/null/undefined are refused', () => {
  assert.is(
    code(() => decode(Buffer.from([0xf8, 0x20]))),
    'PROTO_BAD_CBOR',
  );
  assert.is(
    code(() => decode(Buffer.from([0xe0]))),
    'PROTO_BAD_CBOR',
  );
  assert.is(decode(Buffer.from([0xf5])), true);
});

test('random garbage never crashes the decoder', () => {
  let seed = 42;
  const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  for (let i = 0; i < 5000; i++) {
    const buf = Buffer.alloc(1 + Math.floor(rnd() * 40));
    for (let j = 0; j < buf.length; j++) buf[j] = Math.floor(rnd() * 256);
    try {
      decode(buf);
    } catch (err) {
      assert.instance(err, ProtocolError);
    }
  }
});

test.run();
