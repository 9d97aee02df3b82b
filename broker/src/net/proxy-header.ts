// The PROXY protocol header (HAProxy's spec, versions 1 and 2) that a TCP load balancer in front of the fleet server
// sends before the connection's own bytes: the device's address and port, which the server would otherwise see as
// the balancer's. Only read on connections from a trusted balancer (proxied-listener.ts); everything here is hostile
// input: a bounded length, every field checked, and a typed error naming what is wrong.
import { isIPv4, isIPv6 } from 'node:net';
import { FleetError } from '../errors.js';

/** The 12 bytes a version 2 header starts with (chosen so that no text protocol starts that way). */
const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const V1_PREFIX = Buffer.from('PROXY ', 'latin1');
/** The longest version 1 line the spec allows, CRLF included. */
export const V1_MAX_BYTES = 107;
/**
 * Address block and TLVs of a version 2 header we accept. The spec's largest address block is 216 bytes (two UNIX
 * paths); a balancer in TCP passthrough adds no or few TLVs. A longer header is refused, not buffered.
 */
export const V2_MAX_PAYLOAD_BYTES = 1024;

/** Where the connection really comes from; `local`: the balancer's own (a health check, or an address it hides). */
export type ProxySource =
  | { readonly kind: 'proxied'; readonly address: string; readonly port: number; readonly family: 'IPv4' | 'IPv6' }
  | { readonly kind: 'local' };

export type ProxyHeaderResult =
  /** More bytes are needed to decide. */
  | { readonly done: false }
  /** The header is `length` bytes long; the connection's own bytes follow it. */
  | { readonly done: true; readonly length: number; readonly source: ProxySource };

const invalid = (why: string) => new FleetError('FLEET_PROXY_HEADER', `invalid PROXY protocol header: ${why}`);

/** A prefix of `expected` so far (true while `buf` is shorter and matches). */
function startsLike(buf: Buffer, expected: Buffer): boolean {
  const n = Math.min(buf.length, expected.length);
  return buf.subarray(0, n).equals(expected.subarray(0, n));
}

/**
 * Reads the header at the start of `buf` (the bytes received so far). Throws FLEET_PROXY_HEADER when they cannot
 * start a valid header, so a connection that sends anything else is refused as soon as it is known.
 */
export function parseProxyHeader(buf: Buffer): ProxyHeaderResult {
  if (buf.length === 0) return { done: false };
  if (startsLike(buf, V2_SIGNATURE)) return buf.length < 16 ? { done: false } : parseV2(buf);
  if (startsLike(buf, V1_PREFIX)) return parseV1(buf);
  throw invalid('the connection does not start with one');
}

function parseV2(buf: Buffer): ProxyHeaderResult {
  const version = buf[12]! >> 4;
  const command = buf[12]! & 0x0f;
  if (version !== 2) throw invalid(`version ${version}`);
  if (command > 1) throw invalid(`command ${command}`);
  const length = buf.readUInt16BE(14);
  if (length > V2_MAX_PAYLOAD_BYTES)
    throw invalid(`${length} bytes of addresses and TLVs (at most ${V2_MAX_PAYLOAD_BYTES})`);
  if (buf.length < 16 + length) return { done: false };
  const total = 16 + length;
  // LOCAL: the balancer speaks for itself (its health checks); the connection's own address stands.
  if (command === 0) return { done: true, length: total, source: { kind: 'local' } };
  const family = buf[13]! >> 4;
  const transport = buf[13]! & 0x0f;
  // UNSPEC or UNIX: the spec says to use the connection's own address.
  if (family === 0 || family === 3) return { done: true, length: total, source: { kind: 'local' } };
  if (family !== 1 && family !== 2) throw invalid(`address family ${family}`);
  if (transport !== 1) throw invalid(`transport ${transport} (a stream was expected)`);
  const body = buf.subarray(16, total);
  if (family === 1) {
    if (body.length < 12) throw invalid('an IPv4 address block shorter than 12 bytes');
    const address = [...body.subarray(0, 4)].join('.');
    return {
      done: true,
      length: total,
      source: { kind: 'proxied', address, port: body.readUInt16BE(8), family: 'IPv4' },
    };
  }
  if (body.length < 36) throw invalid('an IPv6 address block shorter than 36 bytes');
  const words: string[] = [];
  for (let i = 0; i < 16; i += 2) words.push(body.readUInt16BE(i).toString(16));
  const address = canonicalIPv6(words.join(':'));
  return {
    done: true,
    length: total,
    source: { kind: 'proxied', address, port: body.readUInt16BE(32), family: 'IPv6' },
  };
}

/** The compressed form Node reports for a socket's IPv6 address (::1, not 0:0:0:0:0:0:0:1). */
function canonicalIPv6(full: string): string {
  return new URL(`http://[${full}]/`).hostname.slice(1, -1);
}

function parseV1(buf: Buffer): ProxyHeaderResult {
  const end = buf.indexOf('\r\n', 0, 'latin1');
  if (end === -1) {
    if (buf.length >= V1_MAX_BYTES) throw invalid(`no CRLF within ${V1_MAX_BYTES} bytes`);
    return { done: false };
  }
  if (end + 2 > V1_MAX_BYTES) throw invalid(`a line longer than ${V1_MAX_BYTES} bytes`);
  const line = buf.toString('latin1', 0, end);
  const length = end + 2;
  const fields = line.split(' ');
  // "PROXY UNKNOWN" may carry anything after it: the connection's own address stands.
  if (fields[1] === 'UNKNOWN') return { done: true, length, source: { kind: 'local' } };
  if (fields.length !== 6) throw invalid(`"${printable(line)}" is not PROXY TCP4|TCP6 SRC DST SRCPORT DSTPORT`);
  const [, proto, src, dst, srcPort, dstPort] = fields as [string, string, string, string, string, string];
  const isFamily = proto === 'TCP4' ? isIPv4 : proto === 'TCP6' ? isIPv6 : undefined;
  if (!isFamily) throw invalid(`protocol "${printable(proto)}" (TCP4, TCP6 or UNKNOWN)`);
  if (!isFamily(src) || !isFamily(dst)) throw invalid(`an address that is not ${proto}`);
  const port = portOf(srcPort);
  portOf(dstPort);
  const family = proto === 'TCP4' ? 'IPv4' : 'IPv6';
  const address = family === 'IPv6' ? canonicalIPv6(src) : src;
  return { done: true, length, source: { kind: 'proxied', address, port, family } };
}

function portOf(text: string): number {
  if (!/^(0|[1-9][0-9]{0,4})$/.test(text) || Number(text) > 65535) throw invalid(`port "${printable(text)}"`);
  return Number(text);
}

/** At most 40 characters, control characters shown as "?": the line came from the network. */
function printable(s: string): string {
  return s.slice(0, 40).replace(/[^\x20-\x7e]/g, '?');
}
