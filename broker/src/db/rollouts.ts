// Staged rollouts on SQLite (migration 17): the devices a selector picked in their deterministic order, and what
// the engine (fleet/rollouts.ts), the operators and the download listener read and write. The rules (the transition
// table, which the schema's trigger repeats, checks, stage sizes, records) are db/rollout-rules.ts, shared with
// PostgreSQL. Everything lives here, so a restarted server continues a rollout.
import type { Db } from './open.js';
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
  parseSelector,
  selectDevices,
  type Rollout,
  rolloutConflict,
  type RolloutCounts,
  type RolloutDeviceRow,
  type RolloutDeviceState,
  type RolloutEvent,
  rolloutOf,
  type RolloutRequest,
  type RolloutRow,
  type RolloutState,
  rolloutStateError,
  type RolloutView,
  rolloutViewOf,
  type SelectableDevice,
  type StageTime,
  unknownRollout,
} from './rollout-rules.js';
import { FleetError } from '../errors.js';

const quoted = (states: readonly string[]) => states.map((s) => `'${s}'`).join(', ');

export type RolloutStore = ReturnType<typeof createRolloutStore>;

export function createRolloutStore(db: Db) {
  const withRelease = `SELECT r.*, rel.version, rel.hardware, rel.size FROM rollouts r JOIN releases rel
    ON rel.id = r.release_id`;
  const getRow = db.prepare(`${withRelease} WHERE r.id = ?`);
  const listRows = db.prepare(`${withRelease} ORDER BY r.id DESC LIMIT ?`);
  const runningIds = db.prepare(`SELECT id FROM rollouts WHERE state = 'running' ORDER BY id`).pluck();
  const release = db.prepare('SELECT id, hardware FROM releases WHERE id = ?');
  const activeDevices = db.prepare(
    `SELECT id, device_type, hardware, status FROM devices WHERE status = 'active' ORDER BY id`,
  );
  const deviceById = db.prepare('SELECT id, device_type, hardware, status FROM devices WHERE id = ?');
  const openRolloutOf = db.prepare(
    `SELECT d.rollout_id FROM rollout_devices d JOIN rollouts r ON r.id = d.rollout_id
      WHERE d.device_id = ? AND r.state IN ('running', 'paused', 'halted') LIMIT 1`,
  );
  const insertRollout = db.prepare(
    `INSERT INTO rollouts (release_id, selector, stages, success_threshold, error_threshold, min_wait_ms, state, stage,
       stage_started_at, stage_times, created_at, created_by, updated_at)
     VALUES (@releaseId, @selector, @stages, @successThreshold, @errorThreshold, @minWaitMs, 'running', 0, @now,
       @stageTimes, @now, @actor, @now)`,
  );
  const insertDevice = db.prepare(
    `INSERT INTO rollout_devices (rollout_id, device_id, position, state, updated_at) VALUES (?, ?, ?, 'Pending', ?)`,
  );
  const total = db.prepare('SELECT count(*) FROM rollout_devices WHERE rollout_id = ?').pluck();
  const stateCounts = db.prepare(
    `SELECT state, count(*) AS n, sum(offered_at IS NOT NULL) AS offered FROM rollout_devices WHERE rollout_id = ?
      GROUP BY state`,
  );
  const committedBelow = db
    .prepare(`SELECT count(*) FROM rollout_devices WHERE rollout_id = ? AND position < ? AND state = 'Committed'`)
    .pluck();
  const failureCodes = db.prepare(
    `SELECT coalesce(reason_code, 'UNKNOWN') AS code, count(*) AS n FROM rollout_devices
      WHERE rollout_id = ? AND state IN ('RolledBack', 'Failed') GROUP BY code ORDER BY n DESC, code`,
  );
  const pendingBelow = db
    .prepare(
      `SELECT device_id FROM rollout_devices WHERE rollout_id = ? AND position < ? AND state = 'Pending'
        ORDER BY position`,
    )
    .pluck();
  const setOffered = db.prepare(
    `UPDATE rollout_devices SET state = CASE state WHEN 'Pending' THEN 'Offered' ELSE state END, token_hash = ?,
       token_expires = ?, offered_at = coalesce(offered_at, ?), updated_at = ?
     WHERE rollout_id = ? AND device_id = ? AND state IN ('Pending', ${quoted(IN_PROGRESS)})`,
  );
  const inProgressOf = db.prepare(
    `SELECT d.rollout_id FROM rollout_devices d WHERE d.device_id = ?
       AND d.state IN (${quoted(IN_PROGRESS)}) ORDER BY d.rollout_id`,
  );
  const cancelledOf = db
    .prepare(
      `SELECT d.rollout_id FROM rollout_devices d JOIN rollouts r ON r.id = d.rollout_id
        WHERE d.device_id = ? AND r.state = 'aborted' AND d.state = 'Cancelled' AND d.offered_at IS NOT NULL
          AND d.token_expires > ? ORDER BY d.rollout_id`,
    )
    .pluck();
  const cancelledDevices = db.prepare(
    `SELECT d.rollout_id, d.device_id FROM rollout_devices d JOIN rollouts r ON r.id = d.rollout_id
      WHERE r.state = 'aborted' AND d.state = 'Cancelled' AND d.offered_at IS NOT NULL AND d.token_expires > ?`,
  );
  const setState = db.prepare(
    `UPDATE rollouts SET state = @to, halt_reason = @haltReason, updated_at = @now,
       accepted_offered = @acceptedOffered, accepted_errors = @acceptedErrors WHERE id = @id AND state = @from`,
  );
  const setStage = db.prepare(
    `UPDATE rollouts SET stage = ?, stage_started_at = ?, stage_times = ?, updated_at = ?
      WHERE id = ? AND stage = ? AND state = 'running'`,
  );
  const setStageTimes = db.prepare('UPDATE rollouts SET stage_times = ?, updated_at = ? WHERE id = ?');
  const cancelRows = db.prepare(
    `UPDATE rollout_devices SET state = 'Cancelled', token_hash = NULL, updated_at = ?
      WHERE rollout_id = ? AND state IN ('Pending', ${quoted(CANCELLABLE)})`,
  );
  const deviceRows = db.prepare(
    `SELECT device_id, position, state, offered_at, updated_at, reason_code, reason FROM rollout_devices
      WHERE rollout_id = ? ORDER BY position`,
  );
  const trustDocs = db
    .prepare(
      'SELECT document FROM (SELECT version, document FROM trust_documents ORDER BY version DESC LIMIT ?) ' +
        'ORDER BY version',
    )
    .pluck();
  const grants = db.prepare(
    `SELECT rd.device_id, rd.token_expires, rd.state, r.state AS rollout_state, r.release_id
       FROM rollout_devices rd JOIN rollouts r ON r.id = rd.rollout_id WHERE rd.token_hash = ?`,
  );

  const counts = (id: number): RolloutCounts =>
    countsOf(stateCounts.all(id) as { state: RolloutDeviceState; n: number; offered: number }[]);
  const failures = (id: number) =>
    (failureCodes.all(id) as { code: string; n: number }[]).map((f) => ({ reasonCode: f.code, devices: f.n }));

  function load(id: number): RolloutRow {
    const r = getRow.get(id) as RolloutRow | undefined;
    if (!r) throw unknownRollout(id);
    return r;
  }

  const viewOf = (r: RolloutRow, withDevices: boolean): RolloutView =>
    rolloutViewOf(
      r,
      total.get(r.id) as number,
      counts(r.id),
      failures(r.id),
      withDevices ? (deviceRows.all(r.id) as RolloutDeviceRow[]) : undefined,
    );

  return {
    /** Creates a running rollout at stage 0; refuses an empty selection and devices in another open rollout. */
    create(req: RolloutRequest, actor: string | null, now: number): number {
      const checked = checkRolloutRequest(req);
      const selector = parseSelector(req.selector);
      return db
        .transaction(() => {
          const rel = release.get(req.releaseId) as { id: string; hardware: string } | undefined;
          if (!rel) throw new FleetError('FLEET_RELEASE_UNKNOWN', `no release ${req.releaseId} is published`);
          const rows =
            selector.kind === 'ids'
              ? selector.ids.flatMap((id) => (deviceById.get(id) as SelectableDevice | undefined) ?? [])
              : (activeDevices.all() as SelectableDevice[]);
          const ids = selectDevices(selector, rel.hardware, rows);
          if (ids.length === 0) throw noDeviceSelected(req.selector, rel.hardware);
          const busy = ids.flatMap((deviceId) => {
            const open = openRolloutOf.get(deviceId) as { rollout_id: number } | undefined;
            return open ? [{ deviceId, rolloutId: open.rollout_id }] : [];
          });
          if (busy.length > 0) throw rolloutConflict(busy);
          const id = Number(
            insertRollout.run({
              releaseId: rel.id,
              selector: req.selector ?? 'all',
              stages: JSON.stringify(checked.stages),
              successThreshold: checked.successThreshold,
              errorThreshold: checked.errorThreshold,
              minWaitMs: checked.minWaitMs,
              now,
              stageTimes: JSON.stringify(firstStageTimes(checked.stages, ids.length, now)),
              actor,
            }).lastInsertRowid,
          );
          for (const [position, d] of devicesInOrder(id, ids).entries()) insertDevice.run(id, d, position, now);
          return id;
        })
        .immediate();
    },
    get(id: number): Rollout {
      return rolloutOf(load(id), total.get(id) as number);
    },
    view(id: number, opts: { devices?: boolean } = {}): RolloutView {
      return viewOf(load(id), opts.devices === true);
    },
    list(limit = 100): RolloutView[] {
      return (listRows.all(limit) as RolloutRow[]).map((r) => viewOf(r, false));
    },
    runningIds(): number[] {
      return runningIds.all() as number[];
    },
    counts,
    committedBelow(id: number, positions: number): number {
      return committedBelow.get(id, positions) as number;
    },
    failures,
    pendingBelow(id: number, positions: number): string[] {
      return pendingBelow.all(id, positions) as string[];
    },
    /**
     * Moves a rollout by `event` if the table allows it from its current state; returns the new state, or throws
     * FLEET_ROLLOUT_STATE. Resuming a halted rollout accepts the failures seen so far (the error threshold then
     * counts from here).
     */
    transition(id: number, event: RolloutEvent, now: number, haltReason?: string): RolloutState {
      return db
        .transaction(() => {
          const r = load(id);
          const to = nextRolloutState(r.state, event);
          if (!to) throw rolloutStateError(id, r.state, event);
          const c = counts(id);
          const accept = event === 'resume' && r.state === 'halted';
          setState.run({
            id,
            from: r.state,
            to,
            now,
            haltReason: event === 'halt' ? (haltReason ?? null) : r.halt_reason,
            acceptedOffered: accept ? c.offered : r.accepted_offered,
            acceptedErrors: accept ? c.failed : r.accepted_errors,
          });
          if (to === 'aborted') cancelRows.run(now, id);
          if (to === 'completed' || to === 'aborted') {
            const times = endStageTimes(JSON.parse(r.stage_times) as StageTime[], now);
            setStageTimes.run(JSON.stringify(times), now, id);
          }
          return to;
        })
        .immediate();
    },
    /**
     * Ends the current stage and starts the next, only from stage `r.stage` of a running rollout; false when it
     * was not (a second engine got there first, or the rollout stopped running).
     */
    advanceStage(r: Rollout, now: number): boolean {
      return setStage.run(r.stage + 1, now, JSON.stringify(nextStageTimes(r, now)), now, r.id, r.stage).changes > 0;
    },
    /**
     * Records new download authorisations (their hashes only) in one commit and marks Pending devices Offered;
     * returns the devices whose row took it (one that ended meanwhile, Cancelled say, is left out).
     */
    offer(
      rolloutId: number,
      offers: readonly { deviceId: string; tokenHash: Buffer; expires: number }[],
      now: number,
    ): Set<string> {
      return db
        .transaction(() => {
          const taken = new Set<string>();
          for (const o of offers) {
            if (setOffered.run(o.tokenHash, o.expires, now, now, rolloutId, o.deviceId).changes > 0)
              taken.add(o.deviceId);
          }
          return taken;
        })
        .immediate();
    },
    /** The rollouts the device is on its way through (Offered … HealthCheck). */
    inProgressFor(deviceId: string): number[] {
      return (inProgressOf.all(deviceId) as { rollout_id: number }[]).map((r) => r.rollout_id);
    },
    /** Aborted rollouts whose offer to the device was withdrawn while its authorisation would still be valid. */
    cancelledFor(deviceId: string, now: number): number[] {
      return cancelledOf.all(deviceId, now) as number[];
    },
    cancelledDevices(now: number): { rolloutId: number; deviceId: string }[] {
      return (cancelledDevices.all(now) as { rollout_id: number; device_id: string }[]).map((r) => ({
        rolloutId: r.rollout_id,
        deviceId: r.device_id,
      }));
    },
    /** The installed trust documents, oldest first (at most the newest `max`). */
    trustDocuments(max: number): Buffer[] {
      return trustDocs.all(max) as Buffer[];
    },
    /** The rollout rows a download token's hash authorises (the download listener checks them). */
    grants(tokenHash: Buffer): DownloadGrant[] {
      return grants.all(tokenHash) as DownloadGrant[];
    },
  };
}
