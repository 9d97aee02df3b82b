// Redis fingerprint: PING, and INFO server when no password is needed. Read-only: never CONFIG, never writes.
import { budget } from '../net/conn.js';
import { firstLine, type ClientFirstProbe, type Verdict } from './probe.js';

const PING = Buffer.from('*1\r\n$4\r\nPING\r\n');
const INFO_SERVER = Buffer.from('*2\r\n$4\r\nINFO\r\n$6\r\nserver\r\n');

export const redisProbe: ClientFirstProbe = {
  name: 'redis',
  hello: () => PING,
  recognise(reply: Buffer, final: boolean): Verdict {
    if (reply.length === 0) return final ? 'no' : 'more';
    if (reply[0] !== 0x2b && reply[0] !== 0x2d) return 'no'; // RESP simple string (+) or error (-)
    const eol = reply.indexOf('\r\n');
    if (eol < 0) return final || reply.length > 512 ? 'no' : 'more';
    return /^(\+PONG|-NOAUTH|-DENIED|-ERR operation not permitted)/.test(reply.subarray(0, eol).toString('latin1'))
      ? 'yes'
      : 'no';
  },
  async assess(conn, { ctx }) {
    const reply = firstLine(conn.received);
    if (reply.startsWith('-')) {
      return { facts: { protocol: 'redis', reply, auth: reply.startsWith('-DENIED') ? 'protected' : 'required' } };
    }
    conn.consume(conn.received.indexOf('\r\n') + 2);
    conn.write(INFO_SERVER);
    const { data } = await conn.waitFor(
      (d) => /redis_version:[^\r\n]*\r\n/.test(d.toString('latin1')),
      budget(ctx),
      ctx.idleMs,
    );
    const version = /redis_version:([0-9A-Za-z.+-]{1,32})/.exec(data.toString('latin1'))?.[1];
    return {
      facts: { protocol: 'redis', reply, auth: 'none', ...(version ? { version } : {}) },
      ...(version ? { product: `Redis ${version}` } : {}),
    };
  },
};
