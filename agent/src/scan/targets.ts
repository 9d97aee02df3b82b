// What to probe: port lists, the own-address rule for targets, and the address each listening socket is probed on.
import { isIP } from 'node:net';
import { UsageError } from '../../../shared/src/cli/args.js';
import { isLoopback, isWildcard } from './addresses.js';
import type { ScanEnv } from './env.js';
import { ScanError } from './errors.js';
import type { ListeningService, ProbeTarget, Transport } from './types.js';

export interface PortSpec {
  readonly transport: Transport;
  readonly port: number;
}

/** Most ports one --ports list may name: a scanner for one gateway, not a sweep. */
export const MAX_LISTED_PORTS = 4096;

/** Parses "listening" or a list such as 22,80,1883,8000-8010,udp:1900 (tcp is the default transport). */
export function parsePortList(text: string): PortSpec[] | 'listening' {
  const trimmed = text.trim();
  if (trimmed === 'listening') return 'listening';
  const out = new Map<string, PortSpec>();
  for (const raw of trimmed.split(',')) {
    const m = /^(?:(tcp|udp):)?(\d{1,5})(?:-(\d{1,5}))?$/.exec(raw.trim());
    const lo = Number(m?.[2]);
    const hi = m?.[3] === undefined ? lo : Number(m[3]);
    if (!m || lo < 1 || hi > 65_535 || hi < lo) {
      throw new UsageError(
        `invalid port ${JSON.stringify(raw.trim())} in --ports: use listening, or a list like ` +
          `22,1883,8000-8010,udp:1900`,
      );
    }
    const transport = (m[1] ?? 'tcp') as Transport;
    for (let p = lo; p <= hi; p++) {
      out.set(`${transport}/${p}`, { transport, port: p });
      if (out.size > MAX_LISTED_PORTS) throw new UsageError(`--ports names more than ${MAX_LISTED_PORTS} ports`);
    }
  }
  return [...out.values()];
}

export interface ResolvedTarget {
  readonly host: string;
  /** Every resolved address is this host's own. */
  readonly local: boolean;
}

/** Resolves a target and refuses anything but this host's own addresses unless `allowRemote`. */
export async function resolveTarget(
  env: Pick<ScanEnv, 'lookup' | 'localAddresses'>,
  target: string,
  allowRemote: boolean,
): Promise<ResolvedTarget> {
  let addresses: string[];
  if (isIP(target)) addresses = [target];
  else {
    try {
      addresses = await env.lookup(target);
    } catch (err) {
      throw new ScanError(
        'SCAN_TARGET_UNRESOLVED',
        `cannot resolve ${JSON.stringify(target)}: ${(err as Error).message}`,
        { cause: err },
      );
    }
    if (addresses.length === 0)
      throw new ScanError('SCAN_TARGET_UNRESOLVED', `${JSON.stringify(target)} resolves to no address`);
  }
  const own = new Set(env.localAddresses().map((a) => a.toLowerCase().replace(/%.*$/, '')));
  const local = addresses.every((a) => isLoopback(a) || isWildcard(a) || own.has(a.toLowerCase()));
  if (!local && !allowRemote) {
    throw new ScanError(
      'SCAN_TARGET_REMOTE',
      `${target} (${addresses.join(', ')}) is not one of this host's addresses; scan only hosts you are authorised ` +
        `to test, and pass --allow-remote to do so`,
    );
  }
  const host = addresses.find((a) => isIP(a) === 4) ?? addresses[0]!;
  return { host: isWildcard(host) ? (isIP(host) === 6 ? '::1' : '127.0.0.1') : host, local };
}

/** The address a listening socket is probed on when no target was given: loopback for wildcard binds. */
export function probeHost(binds: readonly string[]): string {
  const v4loop = binds.find((b) => b.startsWith('127.'));
  if (binds.includes('0.0.0.0')) return '127.0.0.1';
  if (v4loop) return v4loop;
  if (binds.includes('::') || binds.includes('::1')) return '::1';
  const mapped = binds.find((b) => b.startsWith('::ffff:'));
  if (mapped) return mapped.slice(7) === '0.0.0.0' ? '127.0.0.1' : mapped.slice(7);
  return binds[0] ?? '127.0.0.1';
}

/** True when a socket bound to `binds` accepts connections addressed to `host`. */
export function reachableAt(binds: readonly string[], host: string): boolean {
  const v6 = isIP(host) === 6;
  return binds.some((b) => b === host || b === `::ffff:${host}` || b === '::' || (!v6 && b === '0.0.0.0'));
}

export interface PlannedTarget {
  readonly target: ProbeTarget;
  readonly listening?: ListeningService;
}

const loopbackOnly = (l: ListeningService | undefined, host: string, local: boolean) =>
  l ? l.binds.every(isLoopback) : local && isLoopback(host);

export function planListening(
  services: readonly ListeningService[],
  explicitHost: string | undefined,
): PlannedTarget[] {
  return services
    .filter((s) => explicitHost === undefined || reachableAt(s.binds, explicitHost))
    .map((s) => {
      const host = explicitHost ?? probeHost(s.binds);
      return {
        target: { host, port: s.port, transport: s.transport, loopbackOnly: loopbackOnly(s, host, true) },
        listening: s,
      };
    });
}

export function planList(
  ports: readonly PortSpec[],
  host: string,
  local: boolean,
  discovered: readonly ListeningService[],
): PlannedTarget[] {
  const byKey = new Map(discovered.map((s) => [`${s.transport}/${s.port}`, s]));
  return ports.map(({ transport, port }) => {
    const listening = local ? byKey.get(`${transport}/${port}`) : undefined;
    return {
      target: { host, port, transport, loopbackOnly: loopbackOnly(listening, host, local) },
      ...(listening ? { listening } : {}),
    };
  });
}
