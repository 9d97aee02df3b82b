// Reads MQTT fixed headers off the byte stream (MQTT 3.1.1 §2.2) and reports a packet larger than the limit
// as soon as its length is known — before the parser buffers it.
export type FrameCheck =
  | { readonly ok: true }
  | { readonly ok: false; readonly size: number; readonly reason: 'too-large' | 'malformed-length' };

export function createFrameGuard(maxPacketBytes: number): (chunk: Uint8Array) => FrameCheck {
  // States: expecting a header byte; reading the remaining-length varint; skipping the packet body.
  let skipping = 0;
  let readingLength = false;
  let length = 0;
  let multiplier = 1;
  let lengthBytes = 0;
  return (chunk) => {
    let i = 0;
    while (i < chunk.length) {
      if (skipping > 0) {
        const n = Math.min(skipping, chunk.length - i);
        skipping -= n;
        i += n;
        continue;
      }
      if (!readingLength) {
        i++; // packet type and flags
        readingLength = true;
        length = 0;
        multiplier = 1;
        lengthBytes = 0;
        continue;
      }
      const b = chunk[i++]!;
      length += (b & 0x7f) * multiplier;
      multiplier *= 128;
      lengthBytes++;
      if (length + 1 + lengthBytes > maxPacketBytes)
        return { ok: false, size: length + 1 + lengthBytes, reason: 'too-large' };
      if (b & 0x80) {
        // [MQTT-2.2.3] the remaining length takes at most four bytes
        if (lengthBytes >= 4) return { ok: false, size: length, reason: 'malformed-length' };
        continue;
      }
      readingLength = false;
      skipping = length;
    }
    return { ok: true };
  };
}
