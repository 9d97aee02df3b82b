// Drops live sessions whose device or certificate was revoked by another process (the `fleet device revoke` CLI).
import type { Logger } from '../../../shared/src/index.js';
import type { AuditLog } from '../db/audit.js';
import type { Registry } from '../db/registry.js';
import type { Sessions } from '../mqtt/sessions.js';

export function enforceRevocations(deps: {
  registry: Registry;
  sessions: Sessions;
  audit: AuditLog;
  log: Logger;
}): () => void {
  return () => {
    const ids = deps.registry.revokedDeviceIds();
    const serials = deps.registry.revokedSerials();
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
