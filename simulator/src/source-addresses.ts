// Loopback source addresses for virtual devices. The whole of 127.0.0.0/8 reaches this host, so spreading
// devices over 127.0.0.2 … gives each address its own ~28,000 ephemeral ports and its own share of the
// server's per-address connection limit — as devices behind many NATs would.
import { isIP } from 'node:net';

/** Honest devices use 127.0.0.2 … 127.0.0.251; rogue devices 127.0.0.252 … 127.0.0.254. */
export const HONEST_ADDRESSES = 250;
const ROGUE_FIRST = 252;
const ROGUE_COUNT = 3;

export function deviceAddress(index: number, count = HONEST_ADDRESSES): string {
  return `127.0.0.${2 + (index % Math.max(1, Math.min(count, HONEST_ADDRESSES)))}`;
}

export function rogueAddress(index: number): string {
  return `127.0.0.${ROGUE_FIRST + (index % ROGUE_COUNT)}`;
}

/** True for 127.0.0.0/8, ::1 and localhost: the only targets a load or attack run may have by default. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  return isIP(h) === 4 && h.startsWith('127.');
}

/** Spreading source addresses only works towards an IPv4 loopback server. */
export function canSpreadSources(host: string): boolean {
  const h = host.toLowerCase();
  return h === 'localhost' || (isIP(h) === 4 && h.startsWith('127.'));
}
