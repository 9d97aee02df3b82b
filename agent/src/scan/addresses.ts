// Address classification: loopback, wildcard (all interfaces), and which bind of a port is the most exposed.
import { isIP } from 'node:net';

export function isLoopback(address: string): boolean {
  const a = address.toLowerCase().replace(/%.*$/, '');
  if (isIP(a) === 4) return a.startsWith('127.');
  if (a.startsWith('::ffff:')) return isLoopback(a.slice(7));
  return a === '::1' || a === '0:0:0:0:0:0:0:1';
}

export function isWildcard(address: string): boolean {
  return address === '0.0.0.0' || address === '::' || address === '::ffff:0.0.0.0';
}

/** 2 = all interfaces, 1 = one network address, 0 = loopback. */
export function exposureRank(address: string): number {
  return isWildcard(address) ? 2 : isLoopback(address) ? 0 : 1;
}

/** The most exposed of a port's bind addresses (ties keep the first). */
export function widestBind(binds: readonly string[]): string {
  let best = binds[0] ?? '0.0.0.0';
  for (const b of binds) if (exposureRank(b) > exposureRank(best)) best = b;
  return best;
}

/** host:port with IPv6 brackets (RFC 3986 §3.2.2). */
export function hostPort(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}
