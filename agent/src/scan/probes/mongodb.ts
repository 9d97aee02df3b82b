// MongoDB fingerprint over OP_MSG (MongoDB wire protocol, opcode 2013): hello, buildInfo, then listDatabases with
// nameOnly — all read-only commands — to learn whether authorization is enabled.
import { budget, type Conn, type ProbeContext } from '../net/conn.js';
import { decodeTopLevel, encodeDoc, type BsonValue } from './bson.js';
import type { ClientFirstProbe, Verdict } from './probe.js';

const OP_MSG = 2013;
const OP_REPLY = 1;
// Request id 1 (bytes 01 00 00 00): a Modbus device reading these bytes sees a length of 256, which it must drop.
const FIRST_REQUEST_ID = 1;

export function opMsg(requestId: number, doc: Record<string, number | string>): Buffer {
  const body = encodeDoc(doc);
  const head = Buffer.alloc(21);
  head.writeInt32LE(21 + body.length, 0);
  head.writeInt32LE(requestId, 4);
  head.writeInt32LE(0, 8);
  head.writeInt32LE(OP_MSG, 12);
  head.writeUInt32LE(0, 16); // flagBits
  head.writeUInt8(0, 20); // section kind 0: body
  return Buffer.concat([head, body]);
}

/** The reply document to `requestId`, or undefined while incomplete; null when the bytes are not a reply to it. */
export function replyTo(data: Buffer, requestId: number): Record<string, BsonValue> | null | undefined {
  if (data.length < 16) return undefined;
  const len = data.readInt32LE(0);
  if (len < 16 || len > 48 * 1024 * 1024 || data.readInt32LE(8) !== requestId) return null;
  const op = data.readInt32LE(12);
  if (op !== OP_MSG && op !== OP_REPLY) return null;
  if (data.length < len) return undefined;
  // OP_MSG: flagBits(4) kind(1) doc; OP_REPLY: flags(4) cursorId(8) startingFrom(4) numberReturned(4) doc.
  const docStart = op === OP_MSG ? 21 : 36;
  return decodeTopLevel(data.subarray(docStart, len)) ?? null;
}

async function command(conn: Conn, ctx: ProbeContext, requestId: number, doc: Record<string, number | string>) {
  conn.consume(conn.received.length);
  conn.write(opMsg(requestId, doc));
  const { data } = await conn.waitFor((d) => replyTo(d, requestId) !== undefined, budget(ctx));
  return replyTo(data, requestId) ?? undefined;
}

export const mongodbProbe: ClientFirstProbe = {
  name: 'mongodb',
  hello: () => opMsg(FIRST_REQUEST_ID, { hello: 1, $db: 'admin' }),
  recognise(reply: Buffer, final: boolean): Verdict {
    const r = replyTo(reply, FIRST_REQUEST_ID);
    if (r === undefined) return final ? 'no' : 'more';
    return r === null ? 'no' : 'yes';
  },
  async assess(conn, { ctx }) {
    const build = await command(conn, ctx, 2, { buildInfo: 1, $db: 'admin' });
    const version =
      typeof build?.version === 'string' && /^[0-9][0-9A-Za-z.+-]{0,31}$/.test(build.version)
        ? build.version
        : undefined;
    const list = await command(conn, ctx, 3, { listDatabases: 1, nameOnly: 1, $db: 'admin' });
    const ok = list?.ok === 1 || list?.ok === true;
    const detail =
      list === undefined
        ? 'no reply'
        : ok
          ? 'ok: 1'
          : `ok: 0, ${String(list.codeName ?? list.errmsg ?? 'refused').slice(0, 120)}`;
    return {
      facts: { protocol: 'mongodb', ...(version ? { version } : {}), listDatabases: { ok, detail } },
      ...(version ? { product: `MongoDB ${version}` } : {}),
    };
  },
};
