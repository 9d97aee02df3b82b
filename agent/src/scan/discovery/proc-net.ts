// Parses /proc/net/{tcp,tcp6,udp,udp6} (Linux Documentation/networking/proc_net_tcp.rst): local and remote
// address, state and socket inode per line. Malformed lines are skipped, never fatal.
import type { Transport } from '../types.js';

export interface SocketEntry {
  readonly transport: Transport;
  readonly localAddress: string;
  readonly localPort: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** Kernel TCP state number (0x0A = LISTEN, 0x01 = ESTABLISHED; unconnected UDP shows 0x07 = CLOSE). */
  readonly state: number;
  readonly inode: number;
}

export const TCP_ESTABLISHED = 0x01;
export const TCP_LISTEN = 0x0a;
export const UDP_UNCONNECTED = 0x07;

/**
 * The kernel prints each 32-bit address word with %08X of its in-memory value, so on little-endian hosts the
 * bytes of every word come out reversed (127.0.0.1 → 0100007F).
 */
function wordBytes(hex: string, endianness: 'LE' | 'BE'): number[] | undefined {
  if (!/^[0-9A-Fa-f]+$/.test(hex) || hex.length % 8 !== 0) return undefined;
  const out: number[] = [];
  for (let w = 0; w < hex.length; w += 8) {
    const bytes = [0, 2, 4, 6].map((i) => parseInt(hex.slice(w + i, w + i + 2), 16));
    out.push(...(endianness === 'LE' ? bytes.reverse() : bytes));
  }
  return out;
}

export function formatIpv6(bytes: readonly number[]): string {
  // IPv4-mapped addresses read better as dotted quads (RFC 4291 §2.5.5.2).
  if (bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) {
    return `::ffff:${bytes.slice(12).join('.')}`;
  }
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i]! << 8) | bytes[i + 1]!);
  // RFC 5952 §4.2: compress the longest run (of two or more) of zero groups, the first one on a tie.
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

export function decodeAddress(field: string, endianness: 'LE' | 'BE'): { address: string; port: number } | undefined {
  const [hex, portHex] = field.split(':');
  if (hex === undefined || portHex === undefined || !/^[0-9A-Fa-f]{4}$/.test(portHex)) return undefined;
  const bytes = wordBytes(hex, endianness);
  if (!bytes) return undefined;
  const port = parseInt(portHex, 16);
  if (bytes.length === 4) return { address: bytes.join('.'), port };
  if (bytes.length === 16) return { address: formatIpv6(bytes), port };
  return undefined;
}

export function parseProcNet(text: string, transport: Transport, endianness: 'LE' | 'BE'): SocketEntry[] {
  const out: SocketEntry[] = [];
  for (const line of text.split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    // sl local rem st tx:rx tr:when retrnsmt uid timeout inode …
    if (cols.length < 10 || !/^\d+:$/.test(cols[0]!)) continue;
    const local = decodeAddress(cols[1]!, endianness);
    const remote = decodeAddress(cols[2]!, endianness);
    const state = parseInt(cols[3]!, 16);
    const inode = Number(cols[9]);
    if (!local || !remote || !Number.isFinite(state) || !Number.isSafeInteger(inode)) continue;
    out.push({
      transport,
      localAddress: local.address,
      localPort: local.port,
      remoteAddress: remote.address,
      remotePort: remote.port,
      state,
      inode,
    });
  }
  return out;
}
