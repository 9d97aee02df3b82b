// A cluster node's connection history in the shared store (PostgreSQL): the sessions it admits, written in the
// background in the order they happened (batched by the store), a failure logged. Admission does not wait for it:
// the row is history for the fleet audit, not a condition of the session.
import type { Logger } from '../../../shared/src/index.js';
import type { ConnectionLog } from '../db/connections.js';
import type { ConnectionChange, FleetStore } from '../store/types.js';

export interface StoreConnectionLog extends ConnectionLog {
  /** Waits for the writes under way. */
  settled(): Promise<void>;
}

export function createStoreConnectionLog(deps: {
  store: Pick<FleetStore, 'connections'>;
  nodeId: string;
  log: Logger;
  now?: () => number;
}): StoreConnectionLog {
  const now = deps.now ?? Date.now;
  const node = deps.nodeId;
  /** The open sessions here, by handle: what names each one's row in the store. */
  const open = new Map<number, { deviceId: string; connectedAt: number }>();
  /**
   * Per device with sessions open here, how many and the latest stamp: a device's open rows of this node never share
   * a connected_at (a takeover within the same millisecond is stamped one later), so the key names one row.
   */
  const devices = new Map<string, { open: number; last: number }>();
  let nextHandle = 1;
  const writing = new Set<Promise<void>>();

  function write(change: ConnectionChange): void {
    const done = deps.store.connections
      .record(change)
      .catch((err: Error) =>
        deps.log.warn('connection history not written to the store', {
          deviceId: change.deviceId,
          change: change.kind,
          code: (err as { code?: string }).code ?? 'INTERNAL',
          error: err,
        }),
      )
      .finally(() => writing.delete(done));
    writing.add(done);
  }

  return {
    opened(deviceId, serial, address) {
      const held = devices.get(deviceId);
      const connectedAt = held ? Math.max(now(), held.last + 1) : now();
      devices.set(deviceId, { open: (held?.open ?? 0) + 1, last: connectedAt });
      const handle = nextHandle++;
      open.set(handle, { deviceId, connectedAt });
      write({ kind: 'opened', node, deviceId, serial, address, connectedAt });
      return handle;
    },
    closed(handle) {
      const s = open.get(handle);
      if (!s) return;
      open.delete(handle);
      const held = devices.get(s.deviceId);
      if (held && --held.open === 0) devices.delete(s.deviceId);
      write({ kind: 'closed', node, deviceId: s.deviceId, connectedAt: s.connectedAt, at: now() });
    },
    async settled() {
      await Promise.all([...writing]);
    },
  };
}
