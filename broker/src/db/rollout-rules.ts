// The rules of staged rollouts, shared by both store engines (db/rollouts.ts on SQLite, store/postgres/rollouts.ts):
// the rollout's state machine (a transition table, which each schema repeats), request and selector checks, stage
// sizes, the devices' deterministic order, and the rows-to-records mapping, so both engines answer alike.
import { createHash } from 'node:crypto';
import { UPDATE_STATES, type UpdateState } from '../../../shared/src/index.js';
import { FleetError } from '../errors.js';

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

/**
 * A device's place in a rollout: its last reported update state (the agent's, in their order; Idle moves no row),
 * or Pending (not offered) and Cancelled.
 */
export const ROLLOUT_DEVICE_STATES = [
  'Pending',
  ...UPDATE_STATES.filter((s): s is Exclude<UpdateState, 'Idle'> => s !== 'Idle'),
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

/** A rollouts row joined with its release, under SQLite's column names (both engines read it so). */
export interface RolloutRow {
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
export const orderKey = (rolloutId: number, deviceId: string) =>
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

export type Selector = { kind: 'all' } | { kind: 'type' | 'hardware'; value: string } | { kind: 'ids'; ids: string[] };

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

/** Rollout states that may still offer something: a device is in at most one rollout in these. */
export const OPEN_ROLLOUT_STATES = ['running', 'paused', 'halted'] as const;

/** A device as a selector sees it. */
export interface SelectableDevice {
  readonly id: string;
  readonly device_type: string;
  readonly hardware: string | null;
  readonly status: string;
}

/**
 * The devices a selector picks, checked against the release's hardware: for `ids:` the rows of the named devices
 * (those not found are unregistered), otherwise every active device, in id order.
 */
export function selectDevices(selector: Selector, hardware: string, rows: readonly SelectableDevice[]): string[] {
  if (selector.kind === 'ids') {
    const byId = new Map(rows.map((d) => [d.id, d]));
    const problems: string[] = [];
    for (const id of selector.ids) {
      const d = byId.get(id);
      if (!d) problems.push(`${id} is not registered`);
      else if (d.status !== 'active') problems.push(`${id} is revoked`);
      else if (d.hardware !== null && d.hardware !== hardware)
        problems.push(`${id} is ${d.hardware} hardware, the release is for ${hardware}`);
    }
    if (problems.length > 0) throw invalid(`these devices cannot take the release: ${problems.join('; ')}`);
    return selector.ids;
  }
  // Devices whose hardware is not known yet are included: their own verifier refuses a bundle for other hardware.
  return rows
    .filter((d) => d.status === 'active')
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

export const noDeviceSelected = (selector: string | undefined, hardware: string) =>
  invalid(`the selector ${selector ?? 'all'} picks no active device with ${hardware} (or unknown) hardware`);

/** Selected devices already in another open rollout. */
export function rolloutConflict(busy: readonly { deviceId: string; rolloutId: number }[]): FleetError {
  const named = busy.slice(0, 10).map((b) => `${b.deviceId} (rollout ${b.rolloutId})`);
  return new FleetError(
    'FLEET_ROLLOUT_CONFLICT',
    `${busy.length} of the selected devices are in another open rollout: ${named.join(', ')}` +
      `${busy.length > 10 ? ', …' : ''}; abort it, or select other devices`,
    { details: { devices: busy.map((b) => ({ deviceId: b.deviceId, rolloutId: b.rolloutId })) } },
  );
}

/** The devices of a new rollout in position order (position = index). */
export function devicesInOrder(rolloutId: number, ids: readonly string[]): string[] {
  return ids
    .map((d) => ({ d, k: orderKey(rolloutId, d) }))
    .sort((a, b) => (a.k < b.k ? -1 : 1))
    .map((x) => x.d);
}

/** The stage times of a new rollout: stage 0 started now. */
export const firstStageTimes = (stages: readonly number[], devices: number, now: number): StageTime[] => [
  { stage: 0, devices: stageSize(stages, 0, devices), startedAt: now, endedAt: null },
];

/** The stage times with the open stage ended now (a rollout completed or aborted). */
export const endStageTimes = (times: readonly StageTime[], now: number): StageTime[] =>
  times.map((t) => (t.endedAt === null ? { ...t, endedAt: now } : t));

/** The stage times once the next stage started now. */
export function nextStageTimes(r: Rollout, now: number): StageTime[] {
  const next = r.stage + 1;
  return [
    ...endStageTimes(r.stageTimes, now),
    { stage: next, devices: stageSize(r.stages, next, r.total), startedAt: now, endedAt: null },
  ];
}

/** FLEET_ROLLOUT_STATE: the table has no move by `event` from `state`. */
export const rolloutStateError = (id: number, state: RolloutState, event: RolloutEvent) =>
  new FleetError('FLEET_ROLLOUT_STATE', `rollout ${id} is ${state}; it cannot ${event}`, { details: { state } });

export const unknownRollout = (id: number) => new FleetError('FLEET_ROLLOUT_UNKNOWN', `no rollout ${id}`);

export interface RolloutCounts {
  readonly counts: Record<RolloutDeviceState, number>;
  readonly offered: number;
  readonly inProgress: number;
  readonly failed: number;
  readonly updated: number;
}

/** The counts of a rollout from its devices per state (and how many of each state had an offer). */
export function countsOf(rows: readonly { state: RolloutDeviceState; n: number; offered: number }[]): RolloutCounts {
  const c = Object.fromEntries(ROLLOUT_DEVICE_STATES.map((s) => [s, 0])) as Record<RolloutDeviceState, number>;
  let offered = 0;
  for (const r of rows) {
    c[r.state] = r.n;
    offered += r.state === 'Pending' ? 0 : r.state === 'Cancelled' ? r.offered : r.n;
  }
  const inProgress = IN_PROGRESS.reduce((n, s) => n + c[s], 0);
  const failed = FAILED.reduce((n, s) => n + c[s], 0);
  return { counts: c, offered, inProgress, failed, updated: c.Committed };
}

export interface RolloutDeviceRow {
  device_id: string;
  position: number;
  state: RolloutDeviceState;
  offered_at: number | null;
  updated_at: number;
  reason_code: string | null;
  reason: string | null;
}

export function rolloutOf(r: RolloutRow, total: number): Rollout {
  return {
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
    total,
  };
}

/** What operators see of a rollout; `devices` (its rows in position order) only when asked for. */
export function rolloutViewOf(
  r: RolloutRow,
  total: number,
  c: RolloutCounts,
  failures: { reasonCode: string; devices: number }[],
  devices: readonly RolloutDeviceRow[] | undefined,
): RolloutView {
  const ro = rolloutOf(r, total);
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
    failures,
    ...(devices
      ? {
          deviceList: devices.map((d) => ({
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

/** A download authorisation as the download listener checks it: the rollout_devices row its token's hash names. */
export interface DownloadGrant {
  readonly device_id: string;
  readonly token_expires: number | null;
  readonly state: RolloutDeviceState;
  readonly rollout_state: RolloutState;
  readonly release_id: string;
}
