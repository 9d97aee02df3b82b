// Staged rollouts on PostgreSQL, as db/rollouts.ts keeps them on SQLite, with the same rules (db/rollout-rules.ts).
// Every node runs the rollout engine over these rows: a move is one conditional UPDATE (`WHERE state = $from`,
// `WHERE stage = $from`), so of two engines the second changes nothing and is told so; creating a rollout takes a
// transaction-scoped advisory lock, so a device cannot enter two open rollouts created at once on two nodes.
import type pg from 'pg';
import {
  CANCELLABLE,
  checkRolloutRequest,
  countsOf,
  devicesInOrder,
  type DownloadGrant,
  endStageTimes,
  firstStageTimes,
  IN_PROGRESS,
  nextRolloutState,
  nextStageTimes,
  noDeviceSelected,
  OPEN_ROLLOUT_STATES,
  parseSelector,
  rolloutConflict,
  type RolloutDeviceRow,
  type RolloutDeviceState,
  rolloutOf,
  type RolloutRow,
  rolloutStateError,
  rolloutViewOf,
  type SelectableDevice,
  selectDevices,
  type StageTime,
  unknownRollout,
} from '../../db/rollout-rules.js';
import { FleetError } from '../../errors.js';
import type { RolloutStore } from '../types.js';
import type { PgPool } from './pool.js';

/** The advisory lock of rollout creation: any constant shared by every node (never change it). */
const CREATE_LOCK = '7306916388785021490';

const WITH_RELEASE = `SELECT r.*, rel.version, rel.hardware, rel.size FROM rollouts r JOIN releases rel
  ON rel.id = r.release_id`;
const DEVICE_COLUMNS = 'id, device_type, hardware, status';

type Run = Pick<pg.PoolClient, 'query'>;

export function createPgRolloutStore(pool: PgPool): RolloutStore {
  const rows = async <R extends object>(where: string, sql: string, params: unknown[] = []) =>
    (await pool.query<R & Record<string, unknown>>(where, sql, params)).rows as R[];

  async function load(c: Run | undefined, id: number): Promise<RolloutRow> {
    const sql = `${WITH_RELEASE} WHERE r.id = $1`;
    const [r] = c ? (await c.query<RolloutRow>(sql, [id])).rows : await rows<RolloutRow>('rollouts.get', sql, [id]);
    if (!r) throw unknownRollout(id);
    return r;
  }
  const total = async (id: number) =>
    (
      await rows<{ n: number }>('rollouts.total', 'SELECT count(*) AS n FROM rollout_devices WHERE rollout_id = $1', [
        id,
      ])
    )[0]!.n;
  const counts = async (id: number) =>
    countsOf(
      await rows<{ state: RolloutDeviceState; n: number; offered: number }>(
        'rollouts.counts',
        `SELECT state, count(*) AS n, count(offered_at) AS offered FROM rollout_devices WHERE rollout_id = $1
          GROUP BY state`,
        [id],
      ),
    );
  const failures = async (id: number) =>
    (
      await rows<{ code: string; n: number }>(
        'rollouts.failures',
        `SELECT coalesce(reason_code, 'UNKNOWN') AS code, count(*) AS n FROM rollout_devices
          WHERE rollout_id = $1 AND state IN ('RolledBack', 'Failed')
          GROUP BY 1 ORDER BY n DESC, coalesce(reason_code, 'UNKNOWN') COLLATE "C"`,
        [id],
      )
    ).map((f) => ({ reasonCode: f.code, devices: f.n }));
  const viewOf = async (r: RolloutRow, withDevices: boolean) => {
    const [n, c, f, devices] = await Promise.all([
      total(r.id),
      counts(r.id),
      failures(r.id),
      withDevices
        ? rows<RolloutDeviceRow>(
            'rollouts.view',
            `SELECT device_id, position, state, offered_at, updated_at, reason_code, reason FROM rollout_devices
              WHERE rollout_id = $1 ORDER BY position`,
            [r.id],
          )
        : undefined,
    ]);
    return rolloutViewOf(r, n, c, f, devices);
  };

  return {
    async create(req, actor, now) {
      const checked = checkRolloutRequest(req);
      const selector = parseSelector(req.selector);
      return pool.transaction('rollouts.create', async (c) => {
        // One creation at a time across the cluster: the one-open-rollout trigger sees only committed rows.
        await c.query('SELECT pg_advisory_xact_lock($1)', [CREATE_LOCK]);
        const [rel] = (
          await c.query<{ id: string; hardware: string }>('SELECT id, hardware FROM releases WHERE id = $1', [
            req.releaseId,
          ])
        ).rows;
        if (!rel) throw new FleetError('FLEET_RELEASE_UNKNOWN', `no release ${req.releaseId} is published`);
        const candidates = (
          selector.kind === 'ids'
            ? await c.query<SelectableDevice>(`SELECT ${DEVICE_COLUMNS} FROM devices WHERE id = ANY($1::text[])`, [
                selector.ids,
              ])
            : await c.query<SelectableDevice>(
                `SELECT ${DEVICE_COLUMNS} FROM devices WHERE status = 'active' ORDER BY id COLLATE "C"`,
              )
        ).rows;
        const ids = selectDevices(selector, rel.hardware, candidates);
        if (ids.length === 0) throw noDeviceSelected(req.selector, rel.hardware);
        const open = await c.query<{ device_id: string; rollout_id: number }>(
          `SELECT d.device_id, min(d.rollout_id) AS rollout_id FROM rollout_devices d
             JOIN rollouts r ON r.id = d.rollout_id
            WHERE d.device_id = ANY($1::text[]) AND r.state = ANY($2::text[]) GROUP BY d.device_id`,
          [ids, OPEN_ROLLOUT_STATES],
        );
        const busyIn = new Map(open.rows.map((b) => [b.device_id, b.rollout_id]));
        const busy = ids.flatMap((deviceId) => {
          const rolloutId = busyIn.get(deviceId);
          return rolloutId === undefined ? [] : [{ deviceId, rolloutId }];
        });
        if (busy.length > 0) throw rolloutConflict(busy);
        const [made] = (
          await c.query<{ id: number }>(
            `INSERT INTO rollouts (release_id, selector, stages, success_threshold, error_threshold, min_wait_ms,
               state, stage, stage_started_at, stage_times, created_at, created_by, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, 'running', 0, $7, $8, $7, $9, $7) RETURNING id`,
            [
              rel.id,
              req.selector ?? 'all',
              JSON.stringify(checked.stages),
              checked.successThreshold,
              checked.errorThreshold,
              checked.minWaitMs,
              now,
              JSON.stringify(firstStageTimes(checked.stages, ids.length, now)),
              actor,
            ],
          )
        ).rows;
        const id = made!.id;
        await c.query(
          `INSERT INTO rollout_devices (rollout_id, device_id, position, state, updated_at)
           SELECT $1, t.d, t.o - 1, 'Pending', $3 FROM unnest($2::text[]) WITH ORDINALITY AS t(d, o)`,
          [id, devicesInOrder(id, ids), now],
        );
        return id;
      });
    },
    async get(id) {
      const r = await load(undefined, id);
      return rolloutOf(r, await total(id));
    },
    async view(id, opts = {}) {
      return viewOf(await load(undefined, id), opts.devices === true);
    },
    async list(limit = 100) {
      const r = await rows<RolloutRow>('rollouts.list', `${WITH_RELEASE} ORDER BY r.id DESC LIMIT $1`, [limit]);
      return Promise.all(r.map((x) => viewOf(x, false)));
    },
    async runningIds() {
      const r = await rows<{ id: number }>(
        'rollouts.runningIds',
        `SELECT id FROM rollouts WHERE state = 'running' ORDER BY id`,
      );
      return r.map((x) => x.id);
    },
    counts,
    async committedBelow(id, positions) {
      const [r] = await rows<{ n: number }>(
        'rollouts.committedBelow',
        `SELECT count(*) AS n FROM rollout_devices WHERE rollout_id = $1 AND position < $2 AND state = 'Committed'`,
        [id, positions],
      );
      return r!.n;
    },
    failures,
    async pendingBelow(id, positions) {
      const r = await rows<{ device_id: string }>(
        'rollouts.pendingBelow',
        `SELECT device_id FROM rollout_devices WHERE rollout_id = $1 AND position < $2 AND state = 'Pending'
          ORDER BY position`,
        [id, positions],
      );
      return r.map((x) => x.device_id);
    },
    transition(id, event, now, haltReason) {
      return pool.transaction('rollouts.transition', async (c) => {
        const r = await load(c, id);
        const to = nextRolloutState(r.state, event);
        if (!to) throw rolloutStateError(id, r.state, event);
        const accept = event === 'resume' && r.state === 'halted';
        const c0 = accept ? await counts(id) : undefined;
        const moved = await c.query<{ stage_times: string }>(
          `UPDATE rollouts SET state = $3, halt_reason = $4, updated_at = $5, accepted_offered = $6,
             accepted_errors = $7 WHERE id = $1 AND state = $2 RETURNING stage_times`,
          [
            id,
            r.state,
            to,
            event === 'halt' ? (haltReason ?? null) : r.halt_reason,
            now,
            c0 ? c0.offered : r.accepted_offered,
            c0 ? c0.failed : r.accepted_errors,
          ],
        );
        const row = moved.rows[0];
        // Another engine or operator moved it since it was read: this caller changes nothing.
        if (!row) throw rolloutStateError(id, (await load(c, id)).state, event);
        if (to === 'aborted') {
          await c.query(
            `UPDATE rollout_devices SET state = 'Cancelled', token_hash = NULL, updated_at = $1
              WHERE rollout_id = $2 AND state = ANY($3::text[])`,
            [now, id, ['Pending', ...CANCELLABLE]],
          );
        }
        if (to === 'completed' || to === 'aborted') {
          // The stage times as the locked row holds them (RETURNING), not as read before.
          const times = endStageTimes(JSON.parse(row.stage_times) as StageTime[], now);
          await c.query('UPDATE rollouts SET stage_times = $1 WHERE id = $2', [JSON.stringify(times), id]);
        }
        return to;
      });
    },
    async advanceStage(r, now) {
      const moved = await pool.query(
        'rollouts.advanceStage',
        `UPDATE rollouts SET stage = $1, stage_started_at = $2, stage_times = $3, updated_at = $2
          WHERE id = $4 AND stage = $5 AND state = 'running'`,
        [r.stage + 1, now, JSON.stringify(nextStageTimes(r, now)), r.id, r.stage],
      );
      return (moved.rowCount ?? 0) > 0;
    },
    async offer(rolloutId, offers, now) {
      if (offers.length === 0) return new Set();
      const r = await rows<{ device_id: string }>(
        'rollouts.offer',
        `UPDATE rollout_devices d SET state = CASE d.state WHEN 'Pending' THEN 'Offered' ELSE d.state END,
           token_hash = o.h, token_expires = o.e, offered_at = coalesce(d.offered_at, $2), updated_at = $2
           FROM unnest($3::text[], $4::bytea[], $5::bigint[]) AS o(id, h, e)
          WHERE d.rollout_id = $1 AND d.device_id = o.id AND d.state = ANY($6::text[])
          RETURNING d.device_id`,
        [
          rolloutId,
          now,
          offers.map((o) => o.deviceId),
          offers.map((o) => o.tokenHash),
          offers.map((o) => o.expires),
          ['Pending', ...IN_PROGRESS],
        ],
      );
      return new Set(r.map((x) => x.device_id));
    },
    async dueFor(deviceId, now) {
      const r = await rows<{ cancelled: boolean; rollout_id: number }>(
        'rollouts.dueFor',
        `SELECT false AS cancelled, rollout_id FROM rollout_devices WHERE device_id = $1 AND state = ANY($2::text[])
         UNION ALL
         SELECT true, d.rollout_id FROM rollout_devices d JOIN rollouts r ON r.id = d.rollout_id
          WHERE d.device_id = $1 AND r.state = 'aborted' AND d.state = 'Cancelled' AND d.offered_at IS NOT NULL
            AND d.token_expires > $3
         ORDER BY rollout_id`,
        [deviceId, IN_PROGRESS, now],
      );
      return {
        inProgress: r.filter((x) => !x.cancelled).map((x) => x.rollout_id),
        cancelled: r.filter((x) => x.cancelled).map((x) => x.rollout_id),
      };
    },
    async cancelledDevices(now) {
      return rows<{ rolloutId: number; deviceId: string }>(
        'rollouts.cancelledDevices',
        `SELECT d.rollout_id AS "rolloutId", d.device_id AS "deviceId" FROM rollout_devices d
           JOIN rollouts r ON r.id = d.rollout_id
          WHERE r.state = 'aborted' AND d.state = 'Cancelled' AND d.offered_at IS NOT NULL AND d.token_expires > $1`,
        [now],
      );
    },
    async trustDocuments(max) {
      const r = await rows<{ document: Buffer }>(
        'rollouts.trustDocuments',
        `SELECT document FROM (SELECT version, document FROM trust_documents ORDER BY version DESC LIMIT $1) t
          ORDER BY version`,
        [max],
      );
      return r.map((x) => new Uint8Array(x.document));
    },
    grants(tokenHash) {
      return rows<DownloadGrant>(
        'rollouts.grants',
        `SELECT rd.device_id, rd.token_expires, rd.state, r.state AS rollout_state, r.release_id
           FROM rollout_devices rd JOIN rollouts r ON r.id = rd.rollout_id WHERE rd.token_hash = $1`,
        [tokenHash],
      );
    },
  };
}
