// The two kinds of fingerprint probe: server-first (read a banner) and client-first (send a hello, judge the reply).
import type { Conn, Dial, ProbeContext } from '../net/conn.js';
import type { ProbeTarget, ProtocolFacts } from '../types.js';

export interface Assessment {
  readonly facts: ProtocolFacts;
  /** Product and version as the service announced it. */
  readonly product?: string;
}

/** yes: this protocol; no: not this protocol; more: wait for more bytes. */
export type Verdict = 'yes' | 'no' | 'more';

export interface ProbeArgs {
  readonly ctx: ProbeContext;
  readonly target: ProbeTarget;
  /** Opens further connections the same way (plain or inside TLS). */
  readonly dial: Dial;
  readonly tls: boolean;
}

/** Protocols whose server speaks first (SSH, FTP, Telnet, SMTP …). */
export interface ServerFirstProbe {
  readonly name: ProtocolFacts['protocol'];
  recognise(banner: Buffer): boolean;
  /** Continues on the banner connection (read-only follow-ups), then the caller closes it. */
  assess(conn: Conn, args: ProbeArgs): Promise<Assessment>;
}

/** Protocols whose client speaks first (HTTP, MQTT, Redis …). */
export interface ClientFirstProbe {
  readonly name: ProtocolFacts['protocol'];
  hello(args: ProbeArgs): Buffer;
  /** `final` is true when no more bytes will come (peer idle, closed or timed out): answer yes or no. */
  recognise(reply: Buffer, final: boolean): Verdict;
  assess(conn: Conn, args: ProbeArgs): Promise<Assessment>;
}

/** Printable preview of hostile bytes, for banners and evidence. */
export function printable(data: Buffer, max = 120): string {
  return data
    .subarray(0, max * 2)
    .toString('latin1')
    .replace(/[^\x20-\x7e]+/g, ' ')
    .trim()
    .slice(0, max);
}

/** The first line of a reply, printable. */
export function firstLine(data: Buffer, max = 120): string {
  const text = data.subarray(0, 1024).toString('latin1');
  const eol = text.search(/\r?\n/);
  return printable(Buffer.from(eol < 0 ? text : text.slice(0, eol), 'latin1'), max);
}
