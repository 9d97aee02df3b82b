// Retention on PostgreSQL, as on SQLite (fleet/ingest-retention.ts): telemetry received more than `telemetryDays`
// ago and exposure reports beyond each device's newest `reportsPerDevice` are deleted a small transaction at a time.
// Every node runs it beside its ingest; a transaction-scoped advisory lock lets one node at a time delete (the others
// find the lock taken and skip that round), so two nodes never delete the same rows or wait on each other's locks.
import type { Pruned, Retention } from '../../fleet/ingest-retention.js';
import { PRUNE_SAMPLES } from '../../fleet/ingest-retention.js';
import type { PgPool } from './pool.js';

const DAY_MS = 86_400_000;
/** The advisory lock of retention: the bytes of "edgewrd2" (the migrations' key is another). */
const RETENTION_LOCK = '7306078180995130418';
/** Devices whose reports one transaction looks at. */
const PRUNE_DEVICES = 200;
/** A sweep over every device's reports starts at most this often (the first right after start). */
export const REPORT_SWEEP_EVERY_MS = 10 * 60_000;

export function createPgPruner(pool: PgPool) {
  /** The sweep over the devices' reports under way: the last device done ('' at its start); null: none. */
  let sweepAfter: string | null = null;
  let sweepStartedAt = Number.NEGATIVE_INFINITY;

  /** One transaction; the sweep's place moves only once it committed. */
  return async function prune(retention: Retention, now: number): Promise<Pruned> {
    const keep = retention.reportsPerDevice;
    const startsSweep = keep !== null && sweepAfter === null && now - sweepStartedAt >= REPORT_SWEEP_EVERY_MS;
    const after = startsSweep ? '' : sweepAfter;
    const r = await pool.transaction('ingest.prune', async (c) => {
      const lock = await c.query<{ held: boolean }>('SELECT pg_try_advisory_xact_lock($1) AS held', [RETENTION_LOCK]);
      if (!lock.rows[0]!.held) return { samples: 0, reports: 0, more: false, next: undefined };
      let samples = 0;
      if (retention.telemetryDays !== null) {
        const cutoff = now - retention.telemetryDays * DAY_MS;
        // Rows are in arrival order, the old ones a prefix; the newest row is never deleted (as on SQLite).
        const oldest = await c.query<{ id: number; received_at: number }>(
          `SELECT id, received_at FROM telemetry WHERE id < (SELECT max(id) FROM telemetry) ORDER BY id LIMIT $1`,
          [PRUNE_SAMPLES],
        );
        const due: number[] = [];
        for (const row of oldest.rows) {
          if (row.received_at >= cutoff) break;
          due.push(row.id);
        }
        if (due.length > 0) {
          // Each stream keeps the highest seq deleted: a resend of a deleted sample is a duplicate, not a new row.
          const gone = await c.query<{ n: number }>(
            `WITH gone AS (DELETE FROM telemetry WHERE id = ANY($1::bigint[]) RETURNING device_id, stream, seq),
                  floors AS (
                    INSERT INTO telemetry_pruned AS p (device_id, stream, through_seq, pruned_at)
                    SELECT device_id, stream, max(seq), $2 FROM gone GROUP BY device_id, stream
                    ON CONFLICT (device_id, stream) DO UPDATE
                      SET through_seq = greatest(p.through_seq, excluded.through_seq), pruned_at = excluded.pruned_at)
             SELECT count(*) AS n FROM gone`,
            [due, now],
          );
          samples = gone.rows[0]!.n;
        }
        if (due.length === PRUNE_SAMPLES) return { samples, reports: 0, more: true, next: undefined };
      }
      if (keep === null || after === null) return { samples, reports: 0, more: false, next: undefined };
      const swept = await c.query<{ deleted: number; looked: number; last: string | null }>(
        `WITH devs AS (SELECT id FROM devices WHERE id > $1 ORDER BY id LIMIT $2),
              doomed AS (SELECT r.id FROM devs d CROSS JOIN LATERAL (
                           SELECT id FROM exposure_reports WHERE device_id = d.id
                            ORDER BY received_at DESC, id DESC OFFSET $3) r),
              findings AS (DELETE FROM exposure_findings WHERE report_id IN (SELECT id FROM doomed)),
              gone AS (DELETE FROM exposure_reports WHERE id IN (SELECT id FROM doomed) RETURNING id)
         SELECT (SELECT count(*) FROM gone) AS deleted, (SELECT count(*) FROM devs) AS looked,
                (SELECT id FROM devs ORDER BY id DESC LIMIT 1) AS last`,
        [after, PRUNE_DEVICES, keep],
      );
      const { deleted, looked, last } = swept.rows[0]!;
      const more = looked === PRUNE_DEVICES;
      return { samples, reports: deleted, more, next: more ? last : null };
    });
    if (startsSweep && r.next !== undefined) sweepStartedAt = now;
    if (r.next !== undefined) sweepAfter = r.next;
    return { samples: r.samples, reports: r.reports, more: r.more };
  };
}
