// Modbus/TCP fingerprint: one Read Device Identification request (function 0x2B, MEI 0x0E), which is read-only.
// Frame layout: Modbus Application Protocol v1.1b3 §4.1 (MBAP header) and §6.21 (function 43 / 14).
import type { ClientFirstProbe, Verdict } from './probe.js';

const TRANSACTION = 0x4557;
const UNIT = 1;

export function readDeviceIdRequest(): Buffer {
  // MBAP: transaction id, protocol id 0, length 5, unit; PDU: 0x2B 0x0E, read code 1 (basic), object 0.
  const b = Buffer.alloc(11);
  b.writeUInt16BE(TRANSACTION, 0);
  b.writeUInt16BE(0, 2);
  b.writeUInt16BE(5, 4);
  b.writeUInt8(UNIT, 6);
  b.set([0x2b, 0x0e, 0x01, 0x00], 7);
  return b;
}

/** VendorName, ProductCode and MajorMinorRevision from a device identification response. */
function identity(pdu: Buffer): string | undefined {
  // pdu: fc, mei, code, conformity, more, nextId, count, then (id, len, value)…
  if (pdu.length < 7) return undefined;
  const parts: string[] = [];
  let pos = 7;
  for (let i = 0; i < pdu[6]! && pos + 2 <= pdu.length && i < 8; i++) {
    const len = pdu[pos + 1]!;
    const value = pdu
      .subarray(pos + 2, pos + 2 + len)
      .toString('latin1')
      .replace(/[^\x20-\x7e]/g, '');
    if (value) parts.push(value);
    pos += 2 + len;
  }
  return parts.length ? parts.join(' ').slice(0, 120) : undefined;
}

export const modbusProbe: ClientFirstProbe = {
  name: 'modbus',
  hello: () => readDeviceIdRequest(),
  recognise(reply: Buffer, final: boolean): Verdict {
    if (reply.length < 2) return final ? 'no' : 'more';
    if (reply.readUInt16BE(0) !== TRANSACTION) return 'no';
    if (reply.length < 8) return final ? 'no' : 'more';
    const fc = reply[7]!;
    return reply.readUInt16BE(2) === 0 && (fc === 0x2b || fc === 0xab) ? 'yes' : 'no';
  },
  async assess(conn) {
    const reply = conn.received;
    const functionCode = reply[7]!;
    const unitId = reply[6]!;
    const exception = functionCode === 0xab && reply.length > 8 ? reply[8]! : undefined;
    const id =
      functionCode === 0x2b ? identity(reply.subarray(7, 7 + Math.max(0, reply.readUInt16BE(4) - 1))) : undefined;
    return {
      facts: {
        protocol: 'modbus',
        unitId,
        functionCode,
        ...(exception !== undefined ? { exception } : {}),
        ...(id ? { identity: id } : {}),
      },
      ...(id ? { product: id } : {}),
    };
  },
};
