// MQTT 3.1.1 fingerprint: an anonymous CONNECT, then SUBSCRIBE to # (read-only), then DISCONNECT. Never publishes.
import { budget } from '../net/conn.js';
import type { ClientFirstProbe, Verdict } from './probe.js';

const SYS_VERSION_TOPIC = '$SYS/broker/version';

function remainingLength(n: number): Buffer {
  const out: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    out.push(byte);
  } while (n > 0);
  return Buffer.from(out);
}

function utf8(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  const len = Buffer.alloc(2);
  len.writeUInt16BE(b.length);
  return Buffer.concat([len, b]);
}

function packet(type: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([type]), remainingLength(body.length), body]);
}

/** CONNECT without user name or password [MQTT-3.1.2-2: protocol level 4], clean session, 30 s keep-alive. */
export function connectPacket(clientId: string): Buffer {
  const variable = Buffer.concat([utf8('MQTT'), Buffer.from([4, 0x02, 0, 30])]);
  return packet(0x10, Buffer.concat([variable, utf8(clientId)]));
}

/** SUBSCRIBE (packet id 1) to # and $SYS/broker/version, QoS 0 [MQTT-3.8.1-1: fixed header flags 0010]. */
export function subscribePacket(): Buffer {
  const filters = Buffer.concat([utf8('#'), Buffer.from([0]), utf8(SYS_VERSION_TOPIC), Buffer.from([0])]);
  return packet(0x82, Buffer.concat([Buffer.from([0, 1]), filters]));
}

export interface MqttFrame {
  readonly type: number;
  readonly flags: number;
  readonly body: Buffer;
  readonly size: number;
}

/** Reads one control packet from the front of `data`; undefined when incomplete or malformed. */
export function readFrame(data: Buffer): MqttFrame | undefined {
  if (data.length < 2) return undefined;
  let len = 0;
  let mul = 1;
  let i = 1;
  for (; i < 5; i++) {
    if (i >= data.length) return undefined;
    const b = data[i]!;
    len += (b & 0x7f) * mul;
    mul *= 128;
    if ((b & 0x80) === 0) break;
  }
  if (i === 5) return undefined;
  const start = i + 1;
  if (data.length < start + len) return undefined;
  return { type: data[0]! >> 4, flags: data[0]! & 0x0f, body: data.subarray(start, start + len), size: start + len };
}

function frames(data: Buffer): MqttFrame[] {
  const out: MqttFrame[] = [];
  let rest = data;
  for (let guard = 0; guard < 1000; guard++) {
    const f = readFrame(rest);
    if (!f) break;
    out.push(f);
    rest = rest.subarray(f.size);
  }
  return out;
}

function versionFrom(publishes: MqttFrame[]): string | undefined {
  for (const f of publishes) {
    if (f.body.length < 2) continue;
    const tlen = f.body.readUInt16BE(0);
    const topic = f.body.subarray(2, 2 + tlen).toString('utf8');
    if (topic !== SYS_VERSION_TOPIC) continue;
    // QoS 0 PUBLISH has no packet identifier [MQTT-3.3.2-2 applies to QoS > 0 only].
    const qos = (f.flags >> 1) & 3;
    const payload = f.body.subarray(2 + tlen + (qos > 0 ? 2 : 0));
    return (
      payload
        .toString('utf8')
        .replace(/[^\x20-\x7e]/g, '')
        .slice(0, 100) || undefined
    );
  }
  return undefined;
}

export const mqttProbe: ClientFirstProbe = {
  name: 'mqtt',
  hello: ({ ctx }) => connectPacket(`edgeward-${ctx.env.randomBytes(4).toString('hex')}`),
  recognise(reply: Buffer): Verdict {
    // CONNACK: 0x20, remaining length 2 [MQTT-3.2.1].
    if (reply.length === 0) return 'more';
    if (reply[0] !== 0x20) return 'no';
    if (reply.length < 4) return reply.length >= 2 && reply[1] !== 0x02 ? 'no' : 'more';
    return reply[1] === 0x02 && reply[3]! <= 5 ? 'yes' : 'no';
  },
  async assess(conn, { ctx }) {
    const connack = conn.received[3]!;
    conn.consume(4);
    if (connack !== 0) return { facts: { protocol: 'mqtt', connack } };
    conn.write(subscribePacket());
    const hasSuback = (d: Buffer) => frames(d).some((f) => f.type === 9);
    await conn.waitFor(hasSuback, budget(ctx));
    // Give $SYS/broker/version (retained) a moment to follow the SUBACK.
    await conn.waitFor(
      (d) => versionFrom(frames(d).filter((f) => f.type === 3)) !== undefined,
      budget(ctx, ctx.idleMs * 2),
    );
    const all = frames(conn.received);
    conn.write(Buffer.from([0xe0, 0x00]));
    const suback = all.find((f) => f.type === 9);
    const product = versionFrom(all.filter((f) => f.type === 3));
    const returnCode = suback && suback.body.length >= 3 ? suback.body[2]! : undefined;
    return {
      facts: {
        protocol: 'mqtt',
        connack,
        ...(returnCode !== undefined ? { subscribe: { topic: '#', returnCode } } : {}),
      },
      ...(product ? { product } : {}),
    };
  },
};
