// The update client's progress reports (fleet/v1/{id}/update/status), stored in the ingest transaction: every report
// once per (device, message id) in update_status, and the device's latest state in its rollout_devices row.
// A report for a rollout the device is not in is kept (it is evidence) but changes no rollout.
import type { UpdateStatus } from '../../../shared/src/index.js';
import type { Db } from './open.js';

/** States a device's rollout row may move between on a report: an outcome is final, Cancelled too. */
const FINAL = new Set(['Committed', 'RolledBack', 'Failed', 'Cancelled']);

export interface UpdateStatusStore {
  /** Stores one report; returns true when it changed the device's rollout state. */
  apply(deviceId: string, m: UpdateStatus, receivedAt: number): boolean;
}

export function createUpdateStatusStore(db: Db): UpdateStatusStore {
  const insert = db.prepare(
    `INSERT INTO update_status (device_id, message_id, rollout_id, release_id, state, done, total, reason_code, ` +
      `reason, device_ts, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
  );
  const current = db.prepare<[number, string], { state: string; release_id: string }>(
    `SELECT d.state, r.release_id FROM rollout_devices d JOIN rollouts r ON r.id = d.rollout_id ` +
      `WHERE d.rollout_id = ? AND d.device_id = ?`,
  );
  const setState = db.prepare(
    `UPDATE rollout_devices SET state = ?, reason_code = ?, reason = ?, updated_at = ? ` +
      `WHERE rollout_id = ? AND device_id = ?`,
  );
  return {
    apply(deviceId, m, receivedAt) {
      const inserted = insert.run(
        deviceId,
        m.id,
        m.rolloutId,
        m.releaseId,
        m.state,
        m.done ?? null,
        m.total ?? null,
        m.reasonCode ?? null,
        m.reason?.slice(0, 500) ?? null,
        m.ts,
        receivedAt,
      );
      if (inserted.changes === 0) return false;
      const row = current.get(m.rolloutId, deviceId);
      // Reports arrive in order per device (one MQTT session, QoS 1), but a stale one redelivered after an outcome
      // must not reopen it. A device not offered the release yet (Pending) has nothing to report on: counting its
      // word would let it pass or fail a stage it is not in.
      if (!row || row.release_id !== m.releaseId || row.state === 'Pending' || FINAL.has(row.state)) return false;
      if (m.state === 'Idle') return false;
      setState.run(m.state, m.reasonCode ?? null, m.reason?.slice(0, 500) ?? null, receivedAt, m.rolloutId, deviceId);
      return true;
    },
  };
}
