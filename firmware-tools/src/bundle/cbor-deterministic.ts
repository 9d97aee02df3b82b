// A small deterministic CBOR encoder (RFC 8949 §4.2.1) for what edgeward signs: COSE headers and structures,
// manifests and trust documents. The shared cbor-x encoder tags Maps (259) and writes large integers as
// floats, which COSE and these signed documents must not contain.

export type CborValue =
  | number
  | bigint
  | string
  | boolean
  | null
  | Uint8Array
  | readonly CborValue[]
  | ReadonlyMap<number | string, CborValue>
  | { readonly [key: string]: CborValue | undefined }
  | TaggedValue;

export class TaggedValue {
  constructor(
    readonly tag: number,
    readonly value: CborValue,
  ) {}
}

/** The head of a data item: major type and argument in the shortest form (RFC 8949 §4.2.1). */
export function head(major: number, arg: number | bigint): Uint8Array {
  const n = BigInt(arg);
  if (n < 0n || n > 0xffffffffffffffffn) throw new RangeError(`CBOR argument out of range: ${n}`);
  const m = major << 5;
  if (n < 24n) return Uint8Array.of(m | Number(n));
  if (n <= 0xffn) return Uint8Array.of(m | 24, Number(n));
  if (n <= 0xffffn) return Uint8Array.of(m | 25, Number(n >> 8n), Number(n & 0xffn));
  const size = n <= 0xffffffffn ? 4 : 8;
  const out = new Uint8Array(1 + size);
  out[0] = m | (size === 4 ? 26 : 27);
  for (let i = 0; i < size; i++) out[size - i] = Number((n >> BigInt(8 * i)) & 0xffn);
  return out;
}

/** A byte-string head followed by the exact bytes (used to wrap signed bytes without re-encoding them). */
export function byteString(bytes: Uint8Array): Uint8Array {
  return concatBytes([head(2, bytes.length), bytes]);
}

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const p of parts) total += p.length;
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

function encodeInto(value: CborValue, parts: Uint8Array[]): void {
  if (typeof value === 'number' || typeof value === 'bigint') {
    if (typeof value === 'number' && !Number.isSafeInteger(value))
      throw new TypeError(`only safe integers are encoded, got ${value}`);
    const n = BigInt(value);
    parts.push(n >= 0n ? head(0, n) : head(1, -1n - n));
  } else if (typeof value === 'string') {
    const bytes = Buffer.from(value, 'utf8');
    parts.push(head(3, bytes.length), bytes);
  } else if (typeof value === 'boolean') {
    parts.push(Uint8Array.of(value ? 0xf5 : 0xf4));
  } else if (value === null) {
    parts.push(Uint8Array.of(0xf6));
  } else if (value instanceof Uint8Array) {
    parts.push(head(2, value.length), value);
  } else if (value instanceof TaggedValue) {
    parts.push(head(6, value.tag));
    encodeInto(value.value, parts);
  } else if (Array.isArray(value)) {
    parts.push(head(4, value.length));
    for (const item of value as readonly CborValue[]) encodeInto(item, parts);
  } else {
    const entries: [number | string, CborValue][] =
      value instanceof Map
        ? [...(value as ReadonlyMap<number | string, CborValue>)]
        : Object.entries(value as Record<string, CborValue | undefined>).filter(
            (e): e is [string, CborValue] => e[1] !== undefined,
          );
    // Keys sorted by the bytewise order of their encodings (RFC 8949 §4.2.1).
    const encoded = entries.map(([k, v]) => [encodeCbor(k), v] as const).sort((a, b) => compareBytes(a[0], b[0]));
    parts.push(head(5, encoded.length));
    for (const [k, v] of encoded) {
      parts.push(k);
      encodeInto(v, parts);
    }
  }
}

/** Encodes `value` deterministically: shortest heads, sorted map keys, integers never as floats. */
export function encodeCbor(value: CborValue): Uint8Array {
  const parts: Uint8Array[] = [];
  encodeInto(value, parts);
  return concatBytes(parts);
}
