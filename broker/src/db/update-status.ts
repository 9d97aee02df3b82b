// The update client's progress reports (fleet/v1/{id}/update/status), stored in the ingest transaction: every report
// once per (device, message id) in update_status, and the device's latest state in its rollout_devices row.
// A report for a rollout the device is not in is kept (it is evidence) but changes no rollout. The rule is
// reportMoves, which the PostgreSQL ingest applies too (store/postgres/update-status.ts).
import type { UpdateStatus } from '../../../shared/src/index.js';
import type { Db } from './open.js';

/** States a device's rollout row may move between on a report: an outcome is final, Cancelled too. */
const FINAL = new Set(['Committed', 'RolledBack', 'Failed', 'Cancelled']);

/** The longest reason kept of a report. */
export const MAX_REASON_CHARS = 500;

/**
 * Whether a newly stored report moves the device's row of its rollout (`row` as it is now; undefined: the device
 * is not in that rollout).
 */
export function reportMoves(row: { state: string; release_id: string } | undefined, m: UpdateStatus): boolean {
  // Reports arrive in order per device (one MQTT session, QoS 1), but a stale one redelivered after an outcome
  // must not reopen it. A device not offered the release yet (Pending) has nothing to report on: counting its
  // word would let it pass or fail a stage it is not in.
  if (!row || row.release_id !== m.releaseId || row.state === 'Pending' || FINAL.has(row.state)) return false;
  return m.state !== 'Idle';
}

/** The columns of an update_status row, in both engines' INSERT order. */
export const updateStatusValues = (deviceId: string, m: UpdateStatus, receivedAt: number) => [
  deviceId,
  m.id,
  m.rolloutId,
  m.releaseId,
  m.state,
  m.done ?? null,
  m.total ?? null,
  m.reasonCode ?? null,
  m.reason?.slice(0, MAX_REASON_CHARS) ?? null,
  m.ts,
  receivedAt,
];

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
      if (insert.run(...updateStatusValues(deviceId, m, receivedAt)).changes === 0) return false;
      if (!reportMoves(current.get(m.rolloutId, deviceId), m)) return false;
      const reason = m.reason?.slice(0, MAX_REASON_CHARS) ?? null;
      setState.run(m.state, m.reasonCode ?? null, reason, receivedAt, m.rolloutId, deviceId);
      return true;
    },
  };
}
