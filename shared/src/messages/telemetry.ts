// telemetry: a batch of samples with per-sample sequence numbers (device → backend, QoS 1).
import { array, int, literal, num, object, optional, record, str, type Infer } from '../schema.js';
import { MESSAGE_ID_PATTERN, messageId, timestamp } from './common.js';

export const MAX_SAMPLES_PER_MESSAGE = 500;
export const METRIC_NAME = /^[a-zA-Z][a-zA-Z0-9_.]{0,63}$/;

export const sampleSchema = object({
  /** Starts at 1 for a new stream and increases by one per sample; a gap means samples were lost. */
  seq: int({ min: 1 }),
  ts: timestamp(),
  m: record(METRIC_NAME, num(), { maxKeys: 32 }),
});

export const telemetrySchema = object({
  v: literal(1),
  id: messageId(),
  ts: timestamp(),
  /** Identifies the agent state folder the sequence numbers belong to (a wiped folder starts a new stream). */
  stream: str({ pattern: MESSAGE_ID_PATTERN, maxLength: 64 }),
  samples: array(sampleSchema, { minItems: 1, maxItems: MAX_SAMPLES_PER_MESSAGE }),
  /** Samples the agent dropped from its full outbox so far (cumulative). */
  dropped: optional(int({ min: 0 })),
});

export type TelemetrySample = Infer<typeof sampleSchema>;
export type TelemetryMessage = Infer<typeof telemetrySchema>;

const TOP_KEYS = ['v', 'id', 'ts', 'stream', 'samples', 'dropped'] as const;
const SAMPLE_KEYS = ['seq', 'ts', 'm'] as const;
const MAX_TIMESTAMP = 8_640_000_000_000_000;
/**
 * The scanner's default item limit (cbor.ts DEFAULT_LIMITS.maxItems): a payload above it is left to the general path.
 */
const MAX_ITEMS = 20_000;

const isLetter = (c: number) => (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
/** MESSAGE_ID_PATTERN's characters. */
const idChar = (c: number, _i: number) => isLetter(c) || isDigit(c) || c === 0x5f || c === 0x2d;
/** METRIC_NAME's: a letter first, then letters, digits, '_' and '.'. */
const metricChar = (c: number, i: number) => isLetter(c) || (i > 0 && (isDigit(c) || c === 0x5f || c === 0x2e));

/** Metric names and streams repeat from message to message: their strings are kept, by a hash of their bytes. */
const seenStrings = new Map<number, string>();
const SEEN_STRINGS_MAX = 4096;

/** One pass over a payload (see decodeTelemetryFast); every method returns undefined or -1 where it gives up. */
class FastReader {
  private pos = 0;
  private items = 0;
  /** The argument of the head read last: a length, an integer, or a float's value. */
  private arg = 0;
  private readonly view: DataView;
  private readonly text: Buffer;

  constructor(private readonly b: Uint8Array) {
    this.view = new DataView(b.buffer, b.byteOffset, b.byteLength);
    this.text = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  }

  get done(): boolean {
    return this.pos === this.b.length;
  }

  /**
   * Reads an item head; returns its major type, or -1 for what this path leaves to the general one: an argument
   * of 8 bytes (but a float64), an indefinite length, a half float, a simple value, a truncation, too many items.
   */
  head(): number {
    const { b } = this;
    if (this.pos >= b.length || ++this.items > MAX_ITEMS) return -1;
    const ib = b[this.pos++]!;
    const major = ib >> 5;
    const info = ib & 0x1f;
    if (major === 7 && info < 26) return -1;
    if (info < 24) this.arg = info;
    else if (info === 24 && this.pos + 1 <= b.length) this.arg = b[this.pos++]!;
    else if (info === 25 && this.pos + 2 <= b.length) (this.arg = this.view.getUint16(this.pos)), (this.pos += 2);
    else if (info === 26 && this.pos + 4 <= b.length)
      (this.arg = major === 7 ? this.view.getFloat32(this.pos) : this.view.getUint32(this.pos)), (this.pos += 4);
    else if (info === 27 && this.pos + 8 <= b.length && major === 7)
      (this.arg = this.view.getFloat64(this.pos)), (this.pos += 8);
    else return -1;
    return major;
  }

  /** The argument of a head of major type `major`, or -1. */
  expect(major: number): number {
    return this.head() === major ? this.arg : -1;
  }

  /** A number item (integer or float). */
  number(): number | undefined {
    const major = this.head();
    const n = major === 0 || major === 7 ? this.arg : major === 1 ? -1 - this.arg : undefined;
    return n !== undefined && Number.isFinite(n) ? n : undefined;
  }

  integer(min: number, max: number): number | undefined {
    const n = this.number();
    return n !== undefined && Number.isSafeInteger(n) && n >= min && n <= max ? n : undefined;
  }

  /** An ASCII text of `min`..`max` bytes, each passing `ok`; with `reuse`, a string met before is not built again. */
  string(min: number, max: number, ok: (c: number, i: number) => boolean, reuse = false): string | undefined {
    const n = this.expect(3);
    const start = this.pos;
    if (n < min || n > max || start + n > this.b.length) return undefined;
    let hash = n;
    for (let i = 0; i < n; i++) {
      const c = this.b[start + i]!;
      if (!ok(c, i)) return undefined; // every character class accepted is ASCII
      hash = (Math.imul(hash, 31) + c) | 0;
    }
    this.pos += n;
    if (!reuse) return this.text.toString('latin1', start, start + n);
    const known = seenStrings.get(hash);
    if (known !== undefined && known.length === n) {
      let i = 0;
      while (i < n && known.charCodeAt(i) === this.b[start + i]) i++;
      if (i === n) return known;
    }
    const made = this.text.toString('latin1', start, start + n);
    if (seenStrings.size >= SEEN_STRINGS_MAX) seenStrings.clear();
    seenStrings.set(hash, made);
    return made;
  }

  /** Which of `keys` the next text is, by index, or -1. */
  key(keys: readonly string[]): number {
    const n = this.expect(3);
    if (n < 0 || this.pos + n > this.b.length) return -1;
    for (let k = 0; k < keys.length; k++) {
      const name = keys[k]!;
      if (name.length !== n) continue;
      let i = 0;
      while (i < n && this.b[this.pos + i] === name.charCodeAt(i)) i++;
      if (i === n) {
        this.pos += n;
        return k;
      }
    }
    return -1;
  }

  metrics(): Record<string, number> | undefined {
    const n = this.expect(5);
    if (n < 0 || n > 32) return undefined;
    const m: Record<string, number> = Object.create(null);
    for (let i = 0; i < n; i++) {
      const name = this.string(1, 64, metricChar, true);
      // Reserved keys are refused by the general path; a repeated key too.
      if (name === undefined || name === 'constructor' || name === 'prototype' || m[name] !== undefined)
        return undefined;
      const value = this.number();
      if (value === undefined) return undefined;
      m[name] = value;
    }
    return m;
  }

  sample(): TelemetrySample | undefined {
    if (this.expect(5) !== 3) return undefined;
    let seq: number | undefined;
    let ts: number | undefined;
    let m: Record<string, number> | undefined;
    for (let e = 0; e < 3; e++) {
      const k = this.key(SAMPLE_KEYS);
      if (k === 0 && seq === undefined) seq = this.integer(1, Number.MAX_SAFE_INTEGER);
      else if (k === 1 && ts === undefined) ts = this.integer(0, MAX_TIMESTAMP);
      else if (k === 2 && m === undefined) m = this.metrics();
      else return undefined;
      if ((k === 0 ? seq : k === 1 ? ts : m) === undefined) return undefined;
    }
    return { seq: seq!, ts: ts!, m: m! };
  }
}

/**
 * The hot path of ingest: decodes and validates a telemetry payload in one pass, for the shape agents send —
 * definite lengths, ASCII texts, integers up to 32 bits or floats, every key known and present once. It returns
 * exactly what the general path (limits scan, cbor-x, schema) returns for such a payload, and `undefined` for
 * anything else, which the general path then accepts or refuses with its full error. It never accepts what the
 * general path refuses (test/unit/telemetry-fast.test.ts checks this on generated and mutated payloads).
 */
export function decodeTelemetryFast(bytes: Uint8Array): TelemetryMessage | undefined {
  const r = new FastReader(bytes);
  const entries = r.expect(5);
  if (entries < 5 || entries > 6) return undefined;
  const seen = [false, false, false, false, false, false];
  let id: string | undefined;
  let ts: number | undefined;
  let stream: string | undefined;
  let dropped: number | undefined;
  let samples: TelemetrySample[] | undefined;
  for (let e = 0; e < entries; e++) {
    const k = r.key(TOP_KEYS);
    if (k < 0 || seen[k]) return undefined;
    seen[k] = true;
    if (k === 0) {
      if (r.integer(1, 1) === undefined) return undefined;
    } else if (k === 1) {
      if ((id = r.string(8, 64, idChar)) === undefined) return undefined;
    } else if (k === 2) {
      if ((ts = r.integer(0, MAX_TIMESTAMP)) === undefined) return undefined;
    } else if (k === 3) {
      if ((stream = r.string(8, 64, idChar, true)) === undefined) return undefined;
    } else if (k === 4) {
      const n = r.expect(4);
      if (n < 1 || n > MAX_SAMPLES_PER_MESSAGE) return undefined;
      samples = [];
      for (let i = 0; i < n; i++) {
        const s = r.sample();
        if (!s) return undefined;
        samples.push(s);
      }
    } else if ((dropped = r.integer(0, Number.MAX_SAFE_INTEGER)) === undefined) return undefined;
  }
  if (!r.done || !seen[0] || id === undefined || ts === undefined || stream === undefined || samples === undefined)
    return undefined;
  return dropped === undefined ? { v: 1, id, ts, stream, samples } : { v: 1, id, ts, stream, samples, dropped };
}
