// CBOR codec on cbor-x with hard limits. Every input is walked by a strict well-formedness scanner
// (size, depth, item count, tags, keys) before cbor-x sees it, so a hostile payload gets a typed
// ProtocolError instead of a stack overflow, a huge allocation or a prototype surprise.
import { isUtf8 } from 'node:buffer';
import { Decoder, Encoder } from 'cbor-x';
import { ProtocolError } from './errors.js';

export interface DecodeLimits {
  /** Largest accepted input, in bytes. */
  readonly maxBytes: number;
  /** Deepest accepted nesting of arrays, maps and tags (a scalar at top level is depth 0). */
  readonly maxDepth: number;
  /** Most data items (every scalar, key, value and container counts one). */
  readonly maxItems: number;
  /** CBOR tags allowed anywhere in the input; everything else is refused. */
  readonly allowedTags: ReadonlySet<number>;
  /** When true (the default) every map key must be a text string. */
  readonly textKeysOnly: boolean;
}

export const DEFAULT_LIMITS: DecodeLimits = Object.freeze({
  maxBytes: 64 * 1024,
  maxDepth: 16,
  maxItems: 20_000,
  allowedTags: new Set<number>(),
  textKeysOnly: true,
});

const RESERVED_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

const encoder = new Encoder({ useRecords: false, tagUint8Array: false, variableMapSize: true, pack: false });
const objectDecoder = new Decoder({ useRecords: false, mapsAsObjects: true, bundleStrings: false });
const mapDecoder = new Decoder({ useRecords: false, mapsAsObjects: false, bundleStrings: false });

/** Encodes a plain value (objects become maps with minimal headers; Uint8Array stays an untagged byte string). */
export function encode(value: unknown): Buffer {
  return encoder.encode(value) as Buffer;
}

/** Checks `bytes` against the limits and decodes it. Maps become plain objects when all keys are text. */
export function decode(bytes: Uint8Array, limits: Partial<DecodeLimits> = {}): unknown {
  const lim = limits === DEFAULT_LIMITS ? DEFAULT_LIMITS : { ...DEFAULT_LIMITS, ...limits };
  scan(bytes, lim);
  const decoder = lim.textKeysOnly ? objectDecoder : mapDecoder;
  try {
    return decoder.decode(bytes);
  } catch (err) {
    // The scanner accepts only well-formed CBOR, so this is a cbor-x limitation, not a crash path.
    throw new ProtocolError('PROTO_BAD_CBOR', `CBOR decoder refused the payload: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/** Validates well-formedness and limits without building any value. Throws ProtocolError. */
export function scan(bytes: Uint8Array, limits: DecodeLimits = DEFAULT_LIMITS): void {
  if (!(bytes instanceof Uint8Array)) throw new ProtocolError('PROTO_BAD_CBOR', 'payload is not a byte array');
  if (bytes.length > limits.maxBytes) {
    throw new ProtocolError('PROTO_TOO_LARGE', `payload is ${bytes.length} bytes; the limit is ${limits.maxBytes}`, {
      details: { size: bytes.length, limit: limits.maxBytes },
    });
  }
  if (bytes.length === 0) throw new ProtocolError('PROTO_BAD_CBOR', 'payload is empty');
  const s = new Scanner(bytes, limits);
  s.item(0);
  if (s.pos !== bytes.length) {
    throw new ProtocolError('PROTO_BAD_CBOR', `${bytes.length - s.pos} trailing bytes after the CBOR item`);
  }
}

class Scanner {
  pos = 0;
  private items = 0;
  private readonly view: DataView;

  constructor(
    private readonly buf: Uint8Array,
    private readonly limits: DecodeLimits,
  ) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  private fail(message: string): never {
    throw new ProtocolError('PROTO_BAD_CBOR', `${message} at byte ${this.pos}`);
  }

  private need(n: number): void {
    if (n > this.buf.length - this.pos) this.fail(`truncated: ${n} more bytes needed`);
  }

  /** Reads an item head; returns major type and argument (a safe integer, or Infinity when too large). */
  private head(): { major: number; info: number; arg: number } {
    this.need(1);
    const ib = this.buf[this.pos++]!;
    const major = ib >> 5;
    const info = ib & 0x1f;
    let arg: number;
    if (info < 24) arg = info;
    else if (info === 24) {
      this.need(1);
      arg = this.buf[this.pos]!;
      this.pos += 1;
    } else if (info === 25) {
      this.need(2);
      arg = this.view.getUint16(this.pos);
      this.pos += 2;
    } else if (info === 26) {
      this.need(4);
      arg = this.view.getUint32(this.pos);
      this.pos += 4;
    } else if (info === 27) {
      this.need(8);
      const big = this.view.getBigUint64(this.pos);
      this.pos += 8;
      arg = big > BigInt(Number.MAX_SAFE_INTEGER) ? Number.POSITIVE_INFINITY : Number(big);
    } else if (info === 31) {
      this.pos -= 1;
      this.fail(major === 7 ? 'unexpected break code' : 'indefinite-length items are not accepted');
    } else {
      this.pos -= 1;
      this.fail(`reserved additional information ${info}`);
    }
    return { major, info, arg };
  }

  private count(): void {
    if (++this.items > this.limits.maxItems) {
      throw new ProtocolError('PROTO_TOO_MANY_ITEMS', `more than ${this.limits.maxItems} data items`);
    }
  }

  item(depth: number): void {
    this.count();
    const start = this.pos;
    const { major, info, arg } = this.head();
    switch (major) {
      case 0:
      case 1:
        return;
      case 2:
      case 3: {
        if (arg > this.buf.length - this.pos) this.fail(`truncated: string of ${arg} bytes`);
        if (major === 3 && !this.isAscii(this.pos, arg) && !isUtf8(this.buf.subarray(this.pos, this.pos + arg))) {
          this.fail('text string is not valid UTF-8');
        }
        this.pos += arg;
        return;
      }
      case 4:
      case 5: {
        if (depth + 1 > this.limits.maxDepth) {
          throw new ProtocolError('PROTO_TOO_DEEP', `nesting deeper than ${this.limits.maxDepth}`, {
            details: { limit: this.limits.maxDepth },
          });
        }
        const perEntry = major === 5 ? 2 : 1;
        // Every item takes at least one byte: a declared length beyond what is left is a truncation.
        if (arg * perEntry > this.buf.length - this.pos) this.fail(`truncated: container of ${arg} entries`);
        if (major === 4) {
          for (let i = 0; i < arg; i++) this.item(depth + 1);
        } else {
          this.map(arg, depth + 1);
        }
        return;
      }
      case 6: {
        if (!this.limits.allowedTags.has(arg)) {
          this.pos = start;
          throw new ProtocolError('PROTO_UNEXPECTED_TAG', `CBOR tag ${arg} is not allowed here (byte ${start})`, {
            details: { tag: arg },
          });
        }
        if (depth + 1 > this.limits.maxDepth) {
          throw new ProtocolError('PROTO_TOO_DEEP', `nesting deeper than ${this.limits.maxDepth}`);
        }
        this.item(depth + 1);
        return;
      }
      default: {
        // Major 7: only false, true, null, undefined and floats are accepted.
        if (info >= 20 && info <= 23) return;
        if (info >= 25 && info <= 27) return;
        this.pos = start;
        this.fail(`simple value ${info === 24 ? arg : info} is not accepted`);
      }
    }
  }

  private map(entries: number, depth: number): void {
    // Key spans (start, end) of this map, compared byte-wise: no string is built per key (a hot path).
    const spans: number[] = [];
    for (let i = 0; i < entries; i++) {
      const keyStart = this.pos;
      this.need(1);
      const isText = this.buf[keyStart]! >> 5 === 3;
      if (this.limits.textKeysOnly && !isText) {
        throw new ProtocolError('PROTO_BAD_KEY', `map key at byte ${keyStart} is not a text string`);
      }
      this.item(depth);
      const keyEnd = this.pos;
      for (let j = 0; j < spans.length; j += 2) {
        if (this.sameBytes(spans[j]!, spans[j + 1]!, keyStart, keyEnd))
          throw new ProtocolError('PROTO_BAD_KEY', `duplicate map key at byte ${keyStart}`);
      }
      spans.push(keyStart, keyEnd);
      // Only a 9- or 11-byte text can be __proto__, prototype or constructor (whatever its head's length).
      if (isText) {
        const info = this.buf[keyStart]! & 0x1f;
        const head = info < 24 ? 1 : info === 24 ? 2 : info === 25 ? 3 : info === 26 ? 5 : 9;
        const length = keyEnd - keyStart - head;
        if (length === 9 || length === 11) {
          const key = Buffer.from(this.buf.buffer, this.buf.byteOffset + keyStart + head, length).toString('utf8');
          if (RESERVED_KEYS.has(key))
            throw new ProtocolError('PROTO_BAD_KEY', `reserved map key ${JSON.stringify(key)}`);
        }
      }
      this.item(depth);
    }
  }

  /**
   * True when a short text is plain ASCII, which is always valid UTF-8: map keys and ids are, and checking them
   * here costs less than a call into isUtf8 for each. Longer or non-ASCII texts go to isUtf8.
   */
  private isAscii(start: number, length: number): boolean {
    if (length > 64) return false;
    for (let k = start; k < start + length; k++) if (this.buf[k]! > 0x7f) return false;
    return true;
  }

  private sameBytes(aStart: number, aEnd: number, bStart: number, bEnd: number): boolean {
    if (aEnd - aStart !== bEnd - bStart) return false;
    for (let k = 0; k < aEnd - aStart; k++) if (this.buf[aStart + k] !== this.buf[bStart + k]) return false;
    return true;
  }
}
