// Staged rollouts as the fleet server keeps them (migration 17): the rollout's state machine (a transition table,
// which the schema's trigger repeats), the devices a selector picked in their deterministic order, and what the
// engine (fleet/rollouts.ts) reads and writes. Everything lives here, so a restarted server continues a rollout.
import { createHash } from 'node:crypto';
import { FleetError } from '../errors.js';
import type { Db } from './open.js';

export const ROLLOUT_STATES = ['running', 'paused', 'halted', 'aborted', 'completed'] as const;
export type RolloutState = (typeof ROLLOUT_STATES)[number];

/** What moves a rollout: an operator (pause, resume, abort) or the engine (halt, complete). */
export type RolloutEvent = 'pause' | 'resume' | 'abort' | 'halt' | 'complete';

/**
 * The one transition table. A halted rollout may be resumed by an operator (as in hawkBit): the failures seen until
 * then are accepted, and the error threshold applies to what is offered from then on.
 */
export const ROLLOUT_TRANSITIONS: Readonly<Record<RolloutEvent, Partial<Record<RolloutState, RolloutState>>>> = {
  pause: { running: 'paused' },
  resume: { paused: 'running', halted: 'running' },
  abort: { running: 'aborted', paused: 'aborted', halted: 'aborted' },
  halt: { running: 'halted' },
  complete: { running: 'completed' },
};

/** The state `event` moves `state` to, or undefined when the table has no such transition. */
export function nextRolloutState(state: RolloutState, event: RolloutEvent): RolloutState | undefined {
  return ROLLOUT_TRANSITIONS[event][state];
}

/** A device's place in a rollout: its last reported update state, or Pending (not offered) and Cancelled. */
export const ROLLOUT_DEVICE_STATES = [
  'Pending',
  'Offered',
  'Downloading',
  'Verifying',
  'Installing',
  'Rebooting',
  'HealthCheck',
  'Committed',
  'RolledBack',
  'Failed',
  'Cancelled',
] as const;
export type RolloutDeviceState = (typeof ROLLOUT_DEVICE_STATES)[number];
/** Offered and on the way: a device that (re)subscribes in one of these gets a fresh offer. */
export const IN_PROGRESS = ['Offered', 'Downloading', 'Verifying', 'Installing', 'Rebooting', 'HealthCheck'] as const;
/** Still cancellable: the device has not started installing. */
export const CANCELLABLE = ['Offered', 'Downloading', 'Verifying'] as const;
export const FAILED = ['RolledBack', 'Failed'] as const;

export const DEFAULT_STAGES = [1, 10, 50, 100] as const;
export const DEFAULT_SUCCESS_THRESHOLD = 0.95;
export const DEFAULT_ERROR_THRESHOLD = 0.1;
export const DEFAULT_MIN_WAIT_MS = 10 * 60_000;
export const MAX_STAGES = 20;

export interface RolloutRequest {
  readonly releaseId: string;
  /** `all` (default), `type:NAME`, `hardware:ID` or `ids:a,b,c`. */
  readonly selector?: string;
  /** Cumulative percentages of the devices, rising, the last 100. */
  readonly stages?: readonly number[];
  readonly successThreshold?: number;
  readonly errorThreshold?: number;
  readonly minWaitMs?: number;
}

export interface StageTime {
  readonly stage: number;
  /** Devices the stage covers (cumulative: stage i includes stage i-1's). */
  readonly devices: number;
  readonly startedAt: number;
  readonly endedAt: number | null;
}

export interface RolloutDeviceView {
  readonly deviceId: string;
  readonly position: number;
  readonly stage: number;
  readonly state: RolloutDeviceState;
  readonly offeredAt: string | null;
  readonly updatedAt: string;
  readonly reasonCode: string | null;
  readonly reason: string | null;
}

/** A rollout as operators and the simulator see it. */
export interface RolloutView {
  readonly id: number;
  readonly releaseId: string;
  readonly version: string;
  readonly hardware: string;
  readonly selector: string;
  readonly state: RolloutState;
  /** The current stage, 0-based. */
  readonly stage: number;
  readonly stages: number[];
  readonly successThreshold: number;
  readonly errorThreshold: number;
  readonly minWaitMs: number;
  readonly haltReason: string | null;
  readonly createdAt: string;
  readonly createdBy: string | null;
  readonly updatedAt: string;
  readonly stageTimes: StageTime[];
  readonly devices: number;
  /** Devices per state (every state, zeros included). */
  readonly counts: Record<RolloutDeviceState, number>;
  /** Devices offered so far (every state but Pending; Cancelled ones only when they had an offer). */
  readonly offered: number;
  readonly inProgress: number;
  readonly updated: number;
  readonly failed: number;
  /** Failure reason codes and how many devices reported each, most first. */
  readonly failures: { reasonCode: string; devices: number }[];
  readonly deviceList?: RolloutDeviceView[];
}

interface RolloutRow {
  id: number;
  release_id: string;
  selector: string;
  stages: string;
  success_threshold: number;
  error_threshold: number;
  min_wait_ms: number;
  state: RolloutState;
  stage: number;
  stage_started_at: number;
  stage_times: string;
  halt_reason: string | null;
  accepted_offered: number;
  accepted_errors: number;
  created_at: number;
  created_by: string | null;
  updated_at: number;
  version: string;
  hardware: string;
  size: number;
}

/** A rollout as the engine reads it. */
export interface Rollout {
  readonly id: number;
  readonly releaseId: string;
  readonly version: string;
  readonly size: number;
  readonly state: RolloutState;
  readonly stage: number;
  readonly stages: number[];
  readonly successThreshold: number;
  readonly errorThreshold: number;
  readonly minWaitMs: number;
  readonly stageStartedAt: number;
  readonly stageTimes: StageTime[];
  readonly acceptedOffered: number;
  readonly acceptedErrors: number;
  /** Devices in the rollout. */
  readonly total: number;
}

/** How many devices stage `stage` covers: the first ceil(stages[stage]% × N) positions. */
export function stageSize(stages: readonly number[], stage: number, total: number): number {
  const pct = stages[Math.min(stage, stages.length - 1)] ?? 100;
  return Math.min(total, Math.ceil((pct * total) / 100 - 1e-9));
}

/** A device's place in the rollout's order: sha256(rolloutId:deviceId), so stages are spread, not by name. */
const orderKey = (rolloutId: number, deviceId: string) =>
  createHash('sha256').update(`${rolloutId}:${deviceId}`).digest('hex');

const invalid = (msg: string) => new FleetError('FLEET_ROLLOUT_INVALID', msg);

/** Checks a request's stages and thresholds; every problem is reported at once. */
export function checkRolloutRequest(req: RolloutRequest): {
  stages: number[];
  successThreshold: number;
  errorThreshold: number;
  minWaitMs: number;
} {
  const problems: string[] = [];
  const stages = [...(req.stages ?? DEFAULT_STAGES)];
  if (stages.length === 0 || stages.length > MAX_STAGES) problems.push(`give 1 to ${MAX_STAGES} stages`);
  if (stages.some((s) => !Number.isFinite(s) || s <= 0 || s > 100))
    problems.push('each stage is a percentage 0 < p ≤ 100');
  if (stages.some((s, i) => i > 0 && s <= stages[i - 1]!)) problems.push('stages must rise (1%,10%,50%,100%)');
  if (stages.at(-1) !== 100) problems.push('the last stage must be 100%');
  const successThreshold = req.successThreshold ?? DEFAULT_SUCCESS_THRESHOLD;
  const errorThreshold = req.errorThreshold ?? DEFAULT_ERROR_THRESHOLD;
  const minWaitMs = req.minWaitMs ?? DEFAULT_MIN_WAIT_MS;
  if (!(successThreshold >= 0 && successThreshold <= 1)) problems.push('the success threshold is a share 0..1');
  if (!(errorThreshold >= 0 && errorThreshold <= 1)) problems.push('the error threshold is a share 0..1');
  if (!(Number.isSafeInteger(minWaitMs) && minWaitMs >= 0)) problems.push('the minimum wait is whole milliseconds ≥ 0');
  if (problems.length > 0) throw invalid(`the rollout request is invalid: ${problems.join('; ')}`);
  return { stages, successThreshold, errorThreshold, minWaitMs };
}

type Selector = { kind: 'all' } | { kind: 'type' | 'hardware'; value: string } | { kind: 'ids'; ids: string[] };

export function parseSelector(s: string | undefined): Selector {
  const text = (s ?? 'all').trim();
  if (text === 'all') return { kind: 'all' };
  const m = /^(type|hardware|ids):(.+)$/.exec(text);
  if (!m) throw invalid(`unknown device selector "${text}": use all, type:NAME, hardware:ID or ids:a,b,c`);
  if (m[1] === 'ids') {
    const ids = [...new Set(m[2]!.split(',').map((x) => x.trim()))].filter(Boolean);
    if (ids.length === 0) throw invalid('ids: names no device');
    return { kind: 'ids', ids };
  }
  return { kind: m[1] as 'type' | 'hardware', value: m[2]!.trim() };
}

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
     WHERE rollout_id = ? AND device_id = ? AND state IN ('Pending', ${IN_PROGRESS.map((s) => `'${s}'`).join(', ')})`,
  );
  const inProgressOf = db.prepare(
    `SELECT d.rollout_id FROM rollout_devices d WHERE d.device_id = ?
       AND d.state IN (${IN_PROGRESS.map((s) => `'${s}'`).join(', ')}) ORDER BY d.rollout_id`,
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
    `UPDATE rollouts SET stage = ?, stage_started_at = ?, stage_times = ?, updated_at = ? WHERE id = ? AND stage = ?`,
  );
  const setStageTimes = db.prepare('UPDATE rollouts SET stage_times = ?, updated_at = ? WHERE id = ?');
  const cancelRows = db.prepare(
    `UPDATE rollout_devices SET state = 'Cancelled', token_hash = NULL, updated_at = ?
      WHERE rollout_id = ? AND state IN ('Pending', ${CANCELLABLE.map((s) => `'${s}'`).join(', ')})`,
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

  const rolloutOf = (r: RolloutRow): Rollout => ({
    id: r.id,
    releaseId: r.release_id,
    version: r.version,
    size: r.size,
    state: r.state,
    stage: r.stage,
    stages: JSON.parse(r.stages) as number[],
    successThreshold: r.success_threshold,
    errorThreshold: r.error_threshold,
    minWaitMs: r.min_wait_ms,
    stageStartedAt: r.stage_started_at,
    stageTimes: JSON.parse(r.stage_times) as StageTime[],
    acceptedOffered: r.accepted_offered,
    acceptedErrors: r.accepted_errors,
    total: total.get(r.id) as number,
  });

  function counts(id: number) {
    const c = Object.fromEntries(ROLLOUT_DEVICE_STATES.map((s) => [s, 0])) as Record<RolloutDeviceState, number>;
    let offered = 0;
    for (const r of stateCounts.all(id) as { state: RolloutDeviceState; n: number; offered: number }[]) {
      c[r.state] = r.n;
      offered += r.state === 'Pending' ? 0 : r.state === 'Cancelled' ? r.offered : r.n;
    }
    const inProgress = IN_PROGRESS.reduce((n, s) => n + c[s], 0);
    const failed = FAILED.reduce((n, s) => n + c[s], 0);
    return { counts: c, offered, inProgress, failed, updated: c.Committed };
  }

  function load(id: number): RolloutRow {
    const r = getRow.get(id) as RolloutRow | undefined;
    if (!r) throw new FleetError('FLEET_ROLLOUT_UNKNOWN', `no rollout ${id}`);
    return r;
  }

  function viewOf(r: RolloutRow, withDevices: boolean): RolloutView {
    const ro = rolloutOf(r);
    const c = counts(r.id);
    const stageOfPosition = (p: number) => ro.stages.findIndex((_, i) => p < stageSize(ro.stages, i, ro.total));
    return {
      id: r.id,
      releaseId: r.release_id,
      version: r.version,
      hardware: r.hardware,
      selector: r.selector,
      state: r.state,
      stage: r.stage,
      stages: ro.stages,
      successThreshold: r.success_threshold,
      errorThreshold: r.error_threshold,
      minWaitMs: r.min_wait_ms,
      haltReason: r.halt_reason,
      createdAt: new Date(r.created_at).toISOString(),
      createdBy: r.created_by,
      updatedAt: new Date(r.updated_at).toISOString(),
      stageTimes: ro.stageTimes,
      devices: ro.total,
      ...c,
      failures: (failureCodes.all(r.id) as { code: string; n: number }[]).map((f) => ({
        reasonCode: f.code,
        devices: f.n,
      })),
      ...(withDevices
        ? {
            deviceList: (
              deviceRows.all(r.id) as {
                device_id: string;
                position: number;
                state: RolloutDeviceState;
                offered_at: number | null;
                updated_at: number;
                reason_code: string | null;
                reason: string | null;
              }[]
            ).map((d) => ({
              deviceId: d.device_id,
              position: d.position,
              stage: stageOfPosition(d.position),
              state: d.state,
              offeredAt: d.offered_at === null ? null : new Date(d.offered_at).toISOString(),
              updatedAt: new Date(d.updated_at).toISOString(),
              reasonCode: d.reason_code,
              reason: d.reason,
            })),
          }
        : {}),
    };
  }

  interface DeviceRow {
    id: string;
    device_type: string;
    hardware: string | null;
    status: string;
  }

  /** The devices a selector picks, checked against the release's hardware. */
  function select(selector: Selector, hardware: string): string[] {
    if (selector.kind === 'ids') {
      const problems: string[] = [];
      for (const id of selector.ids) {
        const d = deviceById.get(id) as DeviceRow | undefined;
        if (!d) problems.push(`${id} is not registered`);
        else if (d.status !== 'active') problems.push(`${id} is revoked`);
        else if (d.hardware !== null && d.hardware !== hardware)
          problems.push(`${id} is ${d.hardware} hardware, the release is for ${hardware}`);
      }
      if (problems.length > 0) throw invalid(`these devices cannot take the release: ${problems.join('; ')}`);
      return selector.ids;
    }
    // Devices whose hardware is not known yet are included: their own verifier refuses a bundle for other hardware.
    return (activeDevices.all() as DeviceRow[])
      .filter((d) => d.hardware === null || d.hardware === hardware)
      .filter((d) =>
        selector.kind === 'type'
          ? d.device_type === selector.value
          : selector.kind === 'hardware'
            ? d.hardware === selector.value
            : true,
      )
      .map((d) => d.id);
  }

  return {
    /** Creates a running rollout at stage 0; refuses an empty selection and devices in another open rollout. */
    create(req: RolloutRequest, actor: string | null, now: number): number {
      const checked = checkRolloutRequest(req);
      const selector = parseSelector(req.selector);
      return db
        .transaction(() => {
          const rel = release.get(req.releaseId) as { id: string; hardware: string } | undefined;
          if (!rel) throw new FleetError('FLEET_RELEASE_UNKNOWN', `no release ${req.releaseId} is published`);
          const ids = select(selector, rel.hardware);
          if (ids.length === 0) {
            throw invalid(
              `the selector ${req.selector ?? 'all'} picks no active device with ${rel.hardware} (or unknown) hardware`,
            );
          }
          const busy = ids
            .map((id) => ({ id, rollout: openRolloutOf.get(id) as { rollout_id: number } | undefined }))
            .filter((b) => b.rollout);
          if (busy.length > 0) {
            const named = busy.slice(0, 10).map((b) => `${b.id} (rollout ${b.rollout!.rollout_id})`);
            throw new FleetError(
              'FLEET_ROLLOUT_CONFLICT',
              `${busy.length} of the selected devices are in another open rollout: ${named.join(', ')}` +
                `${busy.length > 10 ? ', …' : ''}; abort it, or select other devices`,
              { details: { devices: busy.map((b) => ({ deviceId: b.id, rolloutId: b.rollout!.rollout_id })) } },
            );
          }
          const stageTimes: StageTime[] = [
            { stage: 0, devices: stageSize(checked.stages, 0, ids.length), startedAt: now, endedAt: null },
          ];
          const id = Number(
            insertRollout.run({
              releaseId: rel.id,
              selector: req.selector ?? 'all',
              stages: JSON.stringify(checked.stages),
              successThreshold: checked.successThreshold,
              errorThreshold: checked.errorThreshold,
              minWaitMs: checked.minWaitMs,
              now,
              stageTimes: JSON.stringify(stageTimes),
              actor,
            }).lastInsertRowid,
          );
          const ordered = ids.map((d) => ({ d, k: orderKey(id, d) })).sort((a, b) => (a.k < b.k ? -1 : 1));
          for (const [position, { d }] of ordered.entries()) insertDevice.run(id, d, position, now);
          return id;
        })
        .immediate();
    },
    get(id: number): Rollout {
      return rolloutOf(load(id));
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
    failures(id: number): { reasonCode: string; devices: number }[] {
      return (failureCodes.all(id) as { code: string; n: number }[]).map((f) => ({ reasonCode: f.code, devices: f.n }));
    },
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
          if (!to) {
            throw new FleetError('FLEET_ROLLOUT_STATE', `rollout ${id} is ${r.state}; it cannot ${event}`, {
              details: { state: r.state },
            });
          }
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
            const times = (JSON.parse(r.stage_times) as StageTime[]).map((t) =>
              t.endedAt === null ? { ...t, endedAt: now } : t,
            );
            setStageTimes.run(JSON.stringify(times), now, id);
          }
          return to;
        })
        .immediate();
    },
    /** Ends the current stage and starts the next (only from stage `from`: a second engine does nothing). */
    advanceStage(r: Rollout, now: number): void {
      const next = r.stage + 1;
      const times = r.stageTimes.map((t) => (t.endedAt === null ? { ...t, endedAt: now } : t));
      times.push({ stage: next, devices: stageSize(r.stages, next, r.total), startedAt: now, endedAt: null });
      setStage.run(next, now, JSON.stringify(times), now, r.id, r.stage);
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
  };
}
