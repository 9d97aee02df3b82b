// The rollout scenario's hands on the fleet: publishes the release and creates the rollout through the fleet's own
// admin layer on its data folder (as `fleet release publish` and `fleet rollout create --data` do), and reads how
// the rollout is doing from the fleet database. The running server notices both changes (it watches the database).
import type { Db } from '../../broker/src/db/open.js';
import { openFleetDb } from '../../broker/src/fleet/data-dir.js';
import { SimulatorError } from './errors.js';

export interface RolloutView {
  readonly state: string;
  readonly stage: number;
  readonly devices: number;
  /** Devices offered the release so far. */
  readonly offered: number;
  /** Devices on the new image (Committed). */
  readonly updated: number;
  /** Devices whose update failed or rolled back. */
  readonly failed: number;
  /** Offered devices without an outcome yet. */
  readonly inProgress: number;
  readonly haltReason: string | null;
  readonly stageTimes: readonly {
    readonly stage: number;
    readonly devices: number;
    readonly startedAt: number;
    readonly endedAt: number | null;
  }[];
  /** Failed and rolled-back devices by reason code. */
  readonly failures: Record<string, number>;
}

export interface CreateRollout {
  readonly releaseId: string;
  readonly deviceIds: readonly string[];
  readonly stages: readonly number[];
  readonly successThreshold: number;
  readonly errorThreshold: number;
  readonly minWaitMs: number;
}

export interface RolloutControl {
  publish(bundlePath: string): Promise<{ id: string; hardware: string; version: string; sequence: number }>;
  create(spec: CreateRollout): number;
  view(id: number): RolloutView;
  close(): void;
}

const OUTCOME_FAILED = new Set(['RolledBack', 'Failed']);

export function openRolloutControl(dataDir: string): RolloutControl {
  const db: Db = openFleetDb(dataDir);
  const rollout = db.prepare<
    [number],
    { state: string; stage: number; halt_reason: string | null; stage_times: string }
  >(`SELECT state, stage, halt_reason, stage_times FROM rollouts WHERE id = ?`);
  const devices = db.prepare<[number], { state: string; reason_code: string | null; n: number }>(
    `SELECT state, reason_code, count(*) AS n FROM rollout_devices WHERE rollout_id = ? GROUP BY state, reason_code`,
  );
  return {
    async publish() {
      throw new SimulatorError('SIM_ROLLOUT', 'publishing a release is wired when the release service lands');
    },
    create() {
      throw new SimulatorError('SIM_ROLLOUT', 'creating a rollout is wired when the rollout service lands');
    },
    view(id) {
      const r = rollout.get(id);
      if (!r) throw new SimulatorError('SIM_ROLLOUT', `rollout ${id} is not in the fleet database`);
      let total = 0;
      let offered = 0;
      let updated = 0;
      let failed = 0;
      let inProgress = 0;
      const failures: Record<string, number> = {};
      for (const row of devices.all(id)) {
        total += row.n;
        if (row.state === 'Pending') continue;
        if (row.state !== 'Cancelled') offered += row.n;
        if (row.state === 'Committed') updated += row.n;
        else if (OUTCOME_FAILED.has(row.state)) {
          failed += row.n;
          const code = row.reason_code ?? row.state;
          failures[code] = (failures[code] ?? 0) + row.n;
        } else if (row.state !== 'Cancelled') inProgress += row.n;
      }
      return {
        state: r.state,
        stage: r.stage,
        devices: total,
        offered,
        updated,
        failed,
        inProgress,
        haltReason: r.halt_reason,
        stageTimes: JSON.parse(r.stage_times) as RolloutView['stageTimes'],
        failures,
      };
    },
    close: () => db.close(),
  };
}
