// PostgreSQL fingerprint: SSLRequest (one byte back: S or N), then a StartupMessage for user postgres to see whether
// the server admits it without a password (trust). Protocol 3.0: PostgreSQL docs, "Message Formats".
import { budget, withConn } from '../net/conn.js';
import { printable, type ClientFirstProbe, type Verdict } from './probe.js';

const SSL_REQUEST_CODE = 80877103;
const PROTOCOL_3_0 = 196608;
const PROBE_USER = 'postgres';

export function sslRequest(): Buffer {
  const b = Buffer.alloc(8);
  b.writeInt32BE(8, 0);
  b.writeInt32BE(SSL_REQUEST_CODE, 4);
  return b;
}

export function startupMessage(user: string): Buffer {
  const params = Buffer.from(`user\0${user}\0database\0postgres\0application_name\0edgeward-scan\0\0`, 'utf8');
  const head = Buffer.alloc(8);
  head.writeInt32BE(8 + params.length, 0);
  head.writeInt32BE(PROTOCOL_3_0, 4);
  return Buffer.concat([head, params]);
}

/** The M (message) field of an ErrorResponse body. */
function errorMessage(body: Buffer): string {
  let pos = 0;
  while (pos < body.length && body[pos] !== 0) {
    const type = String.fromCharCode(body[pos]!);
    const end = body.indexOf(0, pos + 1);
    if (end < 0) break;
    if (type === 'M') return printable(body.subarray(pos + 1, end), 200);
    pos = end + 1;
  }
  return 'error';
}

export interface StartupOutcome {
  readonly accepted: boolean;
  readonly detail: string;
}

/** Interprets the first backend message after a StartupMessage. */
export function startupOutcome(data: Buffer): StartupOutcome | undefined {
  if (data.length < 5) return undefined;
  const type = String.fromCharCode(data[0]!);
  const len = data.readInt32BE(1);
  if (len < 4 || len > 65_536) return { accepted: false, detail: 'malformed reply' };
  if (data.length < 1 + len) return undefined;
  const body = data.subarray(5, 1 + len);
  if (type === 'R' && body.length >= 4) {
    const code = body.readInt32BE(0);
    const names: Record<number, string> = {
      0: 'AuthenticationOk',
      3: 'AuthenticationCleartextPassword',
      5: 'AuthenticationMD5Password',
      10: 'AuthenticationSASL',
    };
    return { accepted: code === 0, detail: names[code] ?? `authentication request ${code}` };
  }
  if (type === 'E') return { accepted: false, detail: `ErrorResponse: ${errorMessage(body)}` };
  return { accepted: false, detail: `unexpected message ${printable(Buffer.from(type))}` };
}

export const postgresProbe: ClientFirstProbe = {
  name: 'postgresql',
  hello: () => sslRequest(),
  recognise(reply: Buffer, final: boolean): Verdict {
    // The answer to SSLRequest is exactly one byte; anything longer is some other protocol.
    if (reply.length === 0) return final ? 'no' : 'more';
    if (reply.length > 1 || (reply[0] !== 0x53 && reply[0] !== 0x4e)) return 'no';
    return final ? 'yes' : 'more';
  },
  async assess(conn, { ctx, dial }) {
    const sslSupported = conn.received[0] === 0x53;
    conn.close();
    // A fresh plaintext connection: most trust rules are "host" lines, which match with or without SSL.
    const trust = await withConn(dial, async (c) => {
      c.write(startupMessage(PROBE_USER));
      const { data } = await c.waitFor((d) => startupOutcome(d) !== undefined, budget(ctx));
      const outcome = startupOutcome(data) ?? { accepted: false, detail: 'no reply' };
      if (outcome.accepted) {
        const terminate = Buffer.from([0x58, 0, 0, 0, 4]);
        c.write(terminate);
      }
      return { user: PROBE_USER, ...outcome };
    }).catch((err: Error) => ({ user: PROBE_USER, accepted: false, detail: err.message }));
    return { facts: { protocol: 'postgresql', sslSupported, trust } };
  },
};
