// What a node does with another node's event: the same as for its own revocations and takeovers.
import type { Logger } from '../../../shared/src/index.js';
import type { AuditLog } from '../db/audit.js';
import type { RevokedElsewhere } from '../fleet/revocations.js';
import type { FleetMetrics } from '../metrics/fleet-metrics.js';
import type { Sessions } from '../mqtt/sessions.js';
import type { BusEvent } from './events.js';

export function busEventHandler(deps: {
  /** enforceRevocations: drops sessions revoked in the store, plus those the event names. */
  revocations: (also?: RevokedElsewhere) => void;
  sessions: Sessions;
  audit: Pick<AuditLog, 'record'>;
  /** A session here is about to close because the device connected to another node. */
  onTakenOver?: (deviceId: string) => void;
  /** An operator was revoked on another node: its live dashboard streams here close. */
  onOperatorRevoked?: (name: string) => void;
  /** A command for the device was queued on another node (in the shared store). */
  onCommandQueued?: (deviceId: string) => void;
  metrics: FleetMetrics;
  log: Logger;
}): (event: BusEvent) => void {
  return (event) => {
    switch (event.kind) {
      case 'device.revoked':
        return deps.revocations({ deviceIds: [event.deviceId] });
      case 'certificate.revoked':
        return deps.revocations({ serials: event.serials });
      case 'operator.revoked':
        // On the shared store, tokens and dashboard sessions are checked against its registry on every request,
        // uncached: nothing to drop for them. Live streams are re-checked every second; they close now.
        deps.log.info('operator revoked on another node', { operator: event.name, node: event.node });
        deps.onOperatorRevoked?.(event.name);
        return;
      case 'session.takeover': {
        const s = deps.sessions.get(event.deviceId);
        if (!s) return;
        deps.audit.record({
          event: 'session.takeover',
          deviceId: s.deviceId,
          address: s.address,
          detail: { previousAddress: s.address, serial: s.serial, node: event.node },
        });
        deps.log.warn('session taken over on another node', { deviceId: s.deviceId, node: event.node });
        deps.metrics.takeovers.inc();
        deps.onTakenOver?.(s.deviceId);
        s.client.close();
        return;
      }
      case 'command.queued':
        // A node without the shared store has no such commands; the device's own node sends them if it is here.
        return deps.onCommandQueued?.(event.deviceId);
      default:
        // parseBusMessage admits only the kinds above; a new kind must be handled here.
        return event satisfies never;
    }
  };
}
