// The rollout scenario's hands on the fleet: publishes the release and creates the rollout through the fleet's own
// admin layer on its data folder, as `fleet release publish` and `fleet rollout create --data DIR` do (audited as
// the local user fleet-sim), and reads how the rollout is doing. The running server notices both changes (it watches
// its database) and its rollout engine does the rest.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspectBundle } from '../../firmware-tools/src/index.js';
import { createCliAdmin } from '../../broker/src/admin/cli-admin.js';
import { openFleetDb } from '../../broker/src/fleet/data-dir.js';
import { installedTrustDocuments } from '../../broker/src/fleet/releases.js';
import type { FleetAdmin, RolloutView } from '../../broker/src/admin/types.js';
import { EdgewardError } from '../../shared/src/index.js';
import type { PoolUpdateSpec } from './device-pool.js';
import { SimulatorError } from './errors.js';
import type { ResolvedOptions } from './options.js';

export type { RolloutView };

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
  create(spec: CreateRollout): Promise<number>;
  view(id: number): Promise<RolloutView>;
  close(): void;
}

const USER = 'fleet-sim';

/** A fleet error as the scenario's own, with what it was doing. */
async function doing<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof SimulatorError) throw err;
    const code = err instanceof EdgewardError ? `${err.code}: ` : '';
    throw new SimulatorError('SIM_ROLLOUT', `${what}: ${code}${(err as Error).message}`, { cause: err });
  }
}

export function openRolloutControl(dataDir: string): RolloutControl {
  const admin: FleetAdmin = createCliAdmin(dataDir, USER);
  return {
    publish: (path) =>
      doing(`publishing ${path}`, async () => {
        const { release } = await admin.releases.publish({ path });
        return release;
      }),
    create: (spec) =>
      doing('creating the rollout', async () => {
        const r = await admin.rollouts.create({
          releaseId: spec.releaseId,
          selector: `ids:${spec.deviceIds.join(',')}`,
          stages: spec.stages,
          successThreshold: spec.successThreshold,
          errorThreshold: spec.errorThreshold,
          minWaitMs: spec.minWaitMs,
        });
        return r.id;
      }),
    view: (id) => doing(`reading rollout ${id}`, () => admin.rollouts.get(id)),
    close: () => admin.close(),
  };
}

/**
 * The virtual devices' firmware for a rollout drill: the hardware the bundle names and the sequence just below its
 * own (so the release is an upgrade for them), and the fleet's first trust document as their anchor. The bundle is
 * read, not verified: the server verifies it when it is published, and each device again.
 */
export async function rolloutDeviceSpec(o: ResolvedOptions): Promise<PoolUpdateSpec> {
  const db = openFleetDb(o.dataDir);
  try {
    const anchor = installedTrustDocuments(db)[0];
    if (!anchor) {
      throw new SimulatorError(
        'SIM_ROLLOUT',
        `no firmware trust document is installed in ${o.dataDir}: install the one --release is signed for first ` +
          '(fleet trust set trust.cbor --data DIR)',
      );
    }
    const { manifest } = await doing(`reading ${o.release}`, () => inspectBundle(o.release!));
    return {
      trust: anchor,
      hardware: manifest.hardware,
      initialVersion: '1.0.0',
      initialSequence: Math.max(0, manifest.sequence - 1),
      workDir: mkdtempSync(join(tmpdir(), 'fleet-sim-update-')),
      failRate: o.failRate,
      failMode: o.failMode,
    };
  } finally {
    db.close();
  }
}
