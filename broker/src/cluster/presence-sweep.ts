// Online flags of a node that died: its devices stay marked online in the shared store until they connect again,
// which a device that is gone for good never does. Each node renews a heartbeat in Redis; every node, each sweep,
// marks offline the devices still marked online by a node whose heartbeat has expired. A device that connected
// again elsewhere is marked by its new node, so it is not touched.
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
  store: Pick<FleetStore, 'registry'>;
  nodeId: string;
  log: Logger;
  /** Devices marked offline, for the metric. */
  onReleased?: (devices: number) => void;
  heartbeatMs?: number;
  ttlMs?: number;
}): PresenceSweep {
  const ttl = deps.ttlMs ?? HEARTBEAT_TTL_MS;
  const beat = () =>
    deps.bus.heartbeat(ttl).catch((err: Error) => deps.log.warn('cluster heartbeat not written', { error: err }));
  async function sweep(): Promise<number> {
    const marking = (await deps.store.registry.onlineNodes()).filter((n) => n !== deps.nodeId);
    if (marking.length === 0) return 0;
    const alive = await deps.bus.alive(marking);
    const dead = marking.filter((n) => !alive.has(n));
    if (dead.length === 0) return 0;
    const released = await deps.store.registry.releaseNodes(dead);
    if (released > 0) {
      deps.log.warn('devices of a node that stopped marked offline', { nodes: dead, devices: released });
      deps.onReleased?.(released);
    }
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
