// Memcached fingerprint: the ASCII "version" command, which reads nothing and changes nothing.
import { firstLine, type ClientFirstProbe, type Verdict } from './probe.js';

export const memcachedProbe: ClientFirstProbe = {
  name: 'memcached',
  hello: () => Buffer.from('version\r\n'),
  recognise(reply: Buffer, final: boolean): Verdict {
    const text = reply.subarray(0, 256).toString('latin1');
    if (/^VERSION [^\r\n]{1,64}\r\n/.test(text) || /^CLIENT_ERROR unauthenticated/.test(text)) return 'yes';
    if (!final && reply.length < 9 && ('VERSION '.startsWith(text) || 'CLIENT_ERROR'.startsWith(text))) return 'more';
    if (!final && /^VERSION [^\r\n]{0,64}$/.test(text)) return 'more';
    return 'no';
  },
  async assess(conn) {
    const reply = firstLine(conn.received);
    const version = /^VERSION ([0-9A-Za-z.+-]{1,32})/.exec(reply)?.[1];
    return {
      facts: { protocol: 'memcached', reply, ...(version ? { version } : {}) },
      ...(version ? { product: `memcached ${version}` } : {}),
    };
  },
};
