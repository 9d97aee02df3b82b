// Drops live sessions whose device or certificate was revoked by another process (the `fleet device revoke` CLI)
// or, in a cluster, by another node (its bus event names the device or the certificates).
import type { Logger } from '../../../shared/src/index.js';
import type { AuditLog } from '../db/audit.js';
import type { Registry } from '../db/registry.js';
import type { Sessions } from '../mqtt/sessions.js';

/** Revocations known from elsewhere than this node's store (a cluster bus event). */
export interface RevokedElsewhere {
  readonly deviceIds?: readonly string[];
  readonly serials?: readonly string[];
}

export function enforceRevocations(deps: {
  registry: Registry;
  sessions: Sessions;
  audit: AuditLog;
  log: Logger;
}): (also?: RevokedElsewhere) => void {
  return (also = {}) => {
    const ids = deps.registry.revokedDeviceIds();
    const serials = deps.registry.revokedSerials();
    for (const id of also.deviceIds ?? []) ids.add(id);
    for (const serial of also.serials ?? []) serials.add(serial);
    for (const s of [...deps.sessions.all()]) {
      if (!ids.has(s.deviceId) && !serials.has(s.serial)) continue;
      deps.audit.record({
        event: 'session.revoked',
        deviceId: s.deviceId,
        address: s.address,
        detail: { serial: s.serial },
      });
      deps.log.warn('dropping session of revoked device', { deviceId: s.deviceId, address: s.address });
      s.client.close();
    }
  };
}
