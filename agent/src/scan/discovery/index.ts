// Discovery: listening TCP/UDP sockets from /proc/net, grouped per port, with established-connection counts
// and owning processes.
import type { ScanEnv } from '../env.js';
import { ScanError } from '../errors.js';
import type { ListeningService, Transport } from '../types.js';
import { parseProcNet, TCP_ESTABLISHED, TCP_LISTEN, UDP_UNCONNECTED, type SocketEntry } from './proc-net.js';
import { socketOwners } from './processes.js';

export { parseProcNet, decodeAddress, formatIpv6 } from './proc-net.js';
export { socketOwners } from './processes.js';

const TABLES: readonly [string, Transport][] = [
  ['tcp', 'tcp'],
  ['tcp6', 'tcp'],
  ['udp', 'udp'],
  ['udp6', 'udp'],
];

export async function readSockets(
  env: Pick<ScanEnv, 'readFile' | 'endianness'>,
  procRoot = '/proc',
): Promise<SocketEntry[]> {
  const out: SocketEntry[] = [];
  let readable = 0;
  for (const [file, transport] of TABLES) {
    try {
      out.push(...parseProcNet(await env.readFile(`${procRoot}/net/${file}`), transport, env.endianness));
      readable++;
    } catch {
      // tcp6/udp6 are absent when IPv6 is disabled
    }
  }
  if (readable === 0)
    throw new ScanError(
      'SCAN_DISCOVERY_FAILED',
      `cannot read ${procRoot}/net/tcp: listening sockets cannot be discovered here; pass --ports with a list`,
    );
  return out;
}

function isListening(e: SocketEntry): boolean {
  return e.transport === 'tcp' ? e.state === TCP_LISTEN : e.state === UDP_UNCONNECTED && e.remotePort === 0;
}

/** Every listening port on this host, sorted by transport then port. */
export async function discoverListening(
  env: Pick<ScanEnv, 'readFile' | 'readdir' | 'readlink' | 'endianness'>,
  procRoot = '/proc',
): Promise<ListeningService[]> {
  const sockets = await readSockets(env, procRoot);
  const listening = sockets.filter(isListening);
  const owners = await socketOwners(env, new Set(listening.map((e) => e.inode).filter((i) => i > 0)), procRoot);
  const groups = new Map<string, SocketEntry[]>();
  for (const e of listening) {
    const key = `${e.transport}/${e.localPort}`;
    groups.set(key, [...(groups.get(key) ?? []), e]);
  }
  const services: ListeningService[] = [];
  for (const entries of groups.values()) {
    const { transport, localPort: port } = entries[0]!;
    const binds = [...new Set(entries.map((e) => e.localAddress))].sort();
    const owner = entries.map((e) => owners.get(e.inode)).find((o) => o !== undefined);
    const connections =
      transport === 'tcp'
        ? sockets.filter(
            (s) =>
              s.transport === 'tcp' &&
              s.state === TCP_ESTABLISHED &&
              s.localPort === port &&
              (binds.includes(s.localAddress) || binds.some((b) => b === '0.0.0.0' || b === '::')),
          ).length
        : undefined;
    services.push({
      transport,
      port,
      binds,
      ...(owner ? { process: owner } : {}),
      ...(connections !== undefined ? { connections } : {}),
    });
  }
  return services.sort((a, b) => (a.transport === b.transport ? a.port - b.port : a.transport < b.transport ? -1 : 1));
}
