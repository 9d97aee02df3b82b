// Notices revocations made by other processes (the `fleet device revoke` CLI) and drops live sessions at once.
import type { Logger } from '../../../shared/src/index.js';
import type { AuditLog } from '../db/audit.js';
import type { Db } from '../db/open.js';
import type { Registry } from '../db/registry.js';
import type { Sessions } from '../mqtt/sessions.js';

export interface RevocationWatchOptions {
  readonly db: Db;
  readonly registry: Registry;
  readonly sessions: Sessions;
  readonly audit: AuditLog;
  readonly log: Logger;
  /** Poll period; SQLite's data_version makes an idle poll cost one cheap PRAGMA. */
  readonly intervalMs?: number;
}

export function watchRevocations(opts: RevocationWatchOptions): { check(): void; close(): void } {
  const dataVersion = opts.db.prepare('PRAGMA data_version').pluck();
  let last = -1;

  function check(): void {
    const v = dataVersion.get() as number;
    if (v === last) return;
    last = v;
    const ids = opts.registry.revokedDeviceIds();
    const serials = opts.registry.revokedSerials();
    for (const s of [...opts.sessions.all()]) {
      if (!ids.has(s.deviceId) && !serials.has(s.serial)) continue;
      opts.audit.record({ event: 'session.revoked', deviceId: s.deviceId, address: s.address, detail: { serial: s.serial } });
      opts.log.warn('dropping session of revoked device', { deviceId: s.deviceId, address: s.address });
      s.client.close();
    }
  }

  check();
  const timer = setInterval(check, opts.intervalMs ?? 250);
  timer.unref();
  return { check, close: () => clearInterval(timer) };
}
