// Just enough BSON (bsonspec.org 1.1) for probe commands and their replies: flat documents of ints and strings
// out; top-level scalar fields in, with every nested value skipped by its declared length and bounds-checked.

export type BsonValue = number | string | boolean | null;

export function encodeDoc(fields: Record<string, number | string>): Buffer {
  const parts: Buffer[] = [];
  for (const [key, value] of Object.entries(fields)) {
    const name = Buffer.from(`${key}\0`, 'utf8');
    if (typeof value === 'number') {
      const v = Buffer.alloc(4);
      v.writeInt32LE(value);
      parts.push(Buffer.from([0x10]), name, v);
    } else {
      const s = Buffer.from(`${value}\0`, 'utf8');
      const len = Buffer.alloc(4);
      len.writeInt32LE(s.length);
      parts.push(Buffer.from([0x02]), name, len, s);
    }
  }
  const body = Buffer.concat(parts);
  const head = Buffer.alloc(4);
  head.writeInt32LE(body.length + 5);
  return Buffer.concat([head, body, Buffer.from([0])]);
}

/** Fixed sizes of the value types that have one (0 = no payload). */
const FIXED: Record<number, number> = {
  1: 8,
  6: 0,
  7: 12,
  8: 1,
  9: 8,
  10: 0,
  16: 4,
  17: 8,
  18: 8,
  19: 16,
  127: 0,
  255: 0,
};

/** Top-level scalar fields of one document; undefined when it is malformed. */
export function decodeTopLevel(buf: Buffer): Record<string, BsonValue> | undefined {
  if (buf.length < 5) return undefined;
  const total = buf.readInt32LE(0);
  if (total < 5 || total > buf.length) return undefined;
  const out: Record<string, BsonValue> = Object.create(null);
  let pos = 4;
  while (pos < total - 1) {
    const type = buf[pos++]!;
    const nameEnd = buf.indexOf(0, pos);
    if (nameEnd < 0 || nameEnd >= total) return undefined;
    const name = buf.subarray(pos, nameEnd).toString('utf8');
    pos = nameEnd + 1;
    const need = (n: number) => pos + n <= total;
    if (type === 0x01) {
      if (!need(8)) return undefined;
      out[name] = buf.readDoubleLE(pos);
    } else if (type === 0x10) {
      if (!need(4)) return undefined;
      out[name] = buf.readInt32LE(pos);
    } else if (type === 0x12) {
      if (!need(8)) return undefined;
      out[name] = Number(buf.readBigInt64LE(pos));
    } else if (type === 0x08) {
      if (!need(1)) return undefined;
      out[name] = buf[pos] === 1;
    } else if (type === 0x0a) {
      out[name] = null;
    }
    let size: number;
    if (type in FIXED) size = FIXED[type]!;
    else if (type === 0x02 || type === 0x0d || type === 0x0e) {
      if (!need(4)) return undefined;
      const len = buf.readInt32LE(pos);
      if (len < 1 || !need(4 + len)) return undefined;
      out[name] = buf.subarray(pos + 4, pos + 4 + len - 1).toString('utf8');
      size = 4 + len;
    } else if (type === 0x03 || type === 0x04 || type === 0x0f) {
      if (!need(4)) return undefined;
      size = buf.readInt32LE(pos);
    } else if (type === 0x05) {
      if (!need(4)) return undefined;
      size = 4 + 1 + buf.readInt32LE(pos);
    } else if (type === 0x0b) {
      const a = buf.indexOf(0, pos);
      const b = a < 0 ? -1 : buf.indexOf(0, a + 1);
      if (b < 0) return undefined;
      size = b + 1 - pos;
    } else if (type === 0x0c) {
      if (!need(4)) return undefined;
      size = 4 + buf.readInt32LE(pos) + 12;
    } else return undefined;
    if (size < 0 || !need(size)) return undefined;
    pos += size;
  }
  return out;
}
