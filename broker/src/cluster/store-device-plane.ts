// A cluster node's device plane on the shared fleet store (PostgreSQL): the connect-time certificate check, the
// devices' online flags and the device plane's security events, read from and written to the store every node uses.
import type { Logger } from '../../../shared/src/index.js';
import type { AuditEvent, AuditLog } from '../db/audit.js';
import type { DevicePlane } from '../mqtt/hooks.js';
import type { FleetStore } from '../store/types.js';

export interface StoreDevicePlane extends DevicePlane {
  /** The device's session here was taken over on another node: its disconnect here must not mark it offline. */
  handedOver(deviceId: string): void;
  /** Security events into the store: written in the background, in order, a failure logged. */
  readonly audit: Pick<AuditLog, 'record'>;
  /** Waits for the writes under way. */
  settled(): Promise<void>;
}

/** `nodeId` is written with each online flag: the node holding the session (cluster/presence-sweep.ts). */
export function createStoreDevicePlane(store: FleetStore, log: Logger, nodeId?: string): StoreDevicePlane {
  /** Each device's online-flag writes, chained so they reach the store in the order they happened. */
  const presence = new Map<string, Promise<void>>();
  const handed = new Set<string>();
  let audits: Promise<void> = Promise.resolve();

  return {
    checkCertificate: (deviceId, serial, now) => store.registry.checkCertificate(deviceId, serial, now),
    setOnline(deviceId, online, address, at) {
      // The device is online on the node that took it over; that node wrote so already (possibly before this one).
      if (!online && handed.delete(deviceId)) return;
      if (online) handed.delete(deviceId);
      const previous = presence.get(deviceId) ?? Promise.resolve();
      const next = previous
        .then(() => store.registry.setOnline(deviceId, online, address, at, nodeId))
        .catch((err: Error) =>
          log.warn('online flag not written to the store', { deviceId, online, code: codeOf(err), error: err }),
        )
        .finally(() => {
          if (presence.get(deviceId) === next) presence.delete(deviceId);
        });
      presence.set(deviceId, next);
    },
    handedOver: (deviceId) => void handed.add(deviceId),
    audit: {
      record(e: AuditEvent) {
        const at = Date.now();
        audits = audits.then(() =>
          store.audit
            .record(e, at)
            .catch((err: Error) =>
              log.error('security event not written to the store', { event: e.event, code: codeOf(err), error: err }),
            ),
        );
      },
    },
    async settled() {
      await Promise.all([...presence.values(), audits]);
    },
  };
}

const codeOf = (err: Error) => (err as { code?: string }).code ?? 'INTERNAL';
