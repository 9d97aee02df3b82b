// Online flags of a node that died: its devices stay marked online in the shared store until they connect again,
// which a device that is gone for good never does. Each node renews a heartbeat in Redis; every node, each sweep,
// marks offline the devices still marked online by a node whose heartbeat has expired, and closes that node's
// sessions in the connection history. A device that connected again elsewhere is marked by its new node, so it is not
// touched.
import type { Logger } from '../../../shared/src/index.js';
import type { FleetStore } from '../store/types.js';
import type { ClusterBus } from './bus.js';

export const HEARTBEAT_MS = 3_000;
/** A node missing this long is taken for dead: several heartbeats, so a slow one is not. */
export const HEARTBEAT_TTL_MS = 10_000;

export interface PresenceSweep {
  /** One sweep now: how many devices it marked offline (the tests call it; it also runs on a timer). */
  sweep(): Promise<number>;
  close(): Promise<void>;
}

export function startPresenceSweep(deps: {
  bus: Pick<ClusterBus, 'heartbeat' | 'alive'>;
  store: Pick<FleetStore, 'registry' | 'connections'>;
  nodeId: string;
  log: Logger;
  /** Devices marked offline, for the metric. */
  onReleased?: (devices: number) => void;
  heartbeatMs?: number;
  ttlMs?: number;
  now?: () => number;
}): PresenceSweep {
  const now = deps.now ?? Date.now;
  const ttl = deps.ttlMs ?? HEARTBEAT_TTL_MS;
  const beat = () =>
    deps.bus.heartbeat(ttl).catch((err: Error) => deps.log.warn('cluster heartbeat not written', { error: err }));
  async function sweep(): Promise<number> {
    // A node may hold open sessions of devices another node marks online now (taken over there).
    const [flagging, holding] = await Promise.all([
      deps.store.registry.onlineNodes(),
      deps.store.connections.openNodes(),
    ]);
    const marking = [...new Set([...flagging, ...holding])].filter((n) => n !== deps.nodeId);
    if (marking.length === 0) return 0;
    const alive = await deps.bus.alive(marking);
    const dead = marking.filter((n) => !alive.has(n));
    if (dead.length === 0) return 0;
    const released = await deps.store.registry.releaseNodes(dead);
    const closed = await deps.store.connections.closeNodes(dead, now());
    if (released > 0 || closed > 0) {
      deps.log.warn('a node that stopped: its devices marked offline, its sessions closed', {
        nodes: dead,
        devices: released,
        sessions: closed,
      });
    }
    if (released > 0) deps.onReleased?.(released);
    return released;
  }
  void beat();
  let running: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    void beat();
    // One sweep at a time; a failed one (Redis or the store away) is tried again on the next tick.
    running = running.then(() =>
      sweep().catch((err: Error) => deps.log.warn('online flags not swept', { error: err })),
    );
  }, deps.heartbeatMs ?? HEARTBEAT_MS);
  timer.unref();
  return {
    sweep,
    async close() {
      clearInterval(timer);
      await running;
    },
  };
}
