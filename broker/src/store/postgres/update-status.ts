// Update reports (update/status) in the PostgreSQL ingest transaction, as on SQLite (db/update-status.ts): every
// report once per (device, message id) in update_status, and the device's rollout row moved by the same rule.
import type pg from 'pg';
import type { UpdateStatus } from '../../../../shared/src/index.js';
import { MAX_REASON_CHARS, reportMoves, updateStatusValues } from '../../db/update-status.js';

/** Stores one report; returns true when it moved the device's rollout row. */
export async function pgApplyUpdateStatus(
  c: pg.PoolClient,
  deviceId: string,
  m: UpdateStatus,
  receivedAt: number,
): Promise<boolean> {
  const reason = m.reason?.slice(0, MAX_REASON_CHARS) ?? null;
  const inserted = await c.query(
    `INSERT INTO update_status (device_id, message_id, rollout_id, release_id, state, done, total, reason_code,
       reason, device_ts, received_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
     ON CONFLICT DO NOTHING RETURNING 1`,
    updateStatusValues(deviceId, m, receivedAt),
  );
  if (inserted.rowCount === 0) return false;
  // The row locked as it is read: an engine offering or cancelling it on another node waits, or is waited for.
  const row = await c.query<{ state: string; release_id: string }>(
    `SELECT d.state, r.release_id FROM rollout_devices d JOIN rollouts r ON r.id = d.rollout_id
      WHERE d.rollout_id = $1 AND d.device_id = $2 FOR UPDATE OF d`,
    [m.rolloutId, deviceId],
  );
  if (!reportMoves(row.rows[0], m)) return false;
  await c.query(
    `UPDATE rollout_devices SET state = $1, reason_code = $2, reason = $3, updated_at = $4
      WHERE rollout_id = $5 AND device_id = $6`,
    [m.state, m.reasonCode ?? null, reason, receivedAt, m.rolloutId, deviceId],
  );
  return true;
}
