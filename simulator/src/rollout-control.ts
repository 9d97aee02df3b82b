// The rollout scenario's hands on the fleet: publishes the release, creates the rollout and reads how it is doing.
// With --credential, through the operator API (any node of a cluster; audited as that operator), as an operator
// would; without one, through the fleet's own admin layer on its data folder, as `fleet release publish` and
// `fleet rollout create --data DIR` do (audited as the local user fleet-sim; the running server notices the change
// in its database). Either way the server's rollout engine does the rest.
import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspectBundle } from '../../firmware-tools/src/index.js';
import { createApiClient } from '../../broker/src/admin/api-client.js';
import { createCliAdmin } from '../../broker/src/admin/cli-admin.js';
import { createRemoteAdmin } from '../../broker/src/admin/remote.js';
import { openFleetDb } from '../../broker/src/fleet/data-dir.js';
import { installedTrustDocuments } from '../../broker/src/fleet/releases.js';
import type { FleetAdmin, RolloutView } from '../../broker/src/admin/types.js';
import { EdgewardError } from '../../shared/src/index.js';
import type { PoolUpdateSpec } from './device-pool.js';
import { SimulatorError } from './errors.js';
import type { ResolvedOptions } from './options.js';
import { serverViewOptions } from './sim-operator.js';

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
  /** `api`: through the operator API with --credential; `local`: the admin layer on --data. */
  readonly via: 'api' | 'local';
  publish(bundlePath: string): Promise<{ id: string; hardware: string; version: string; sequence: number }>;
  create(spec: CreateRollout): Promise<number>;
  view(id: number): Promise<RolloutView>;
  /** The sha256 (hex) of the fleet's first installed trust document, if any. */
  anchorSha256(): Promise<string | undefined>;
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

/** With --credential, through the operator API (a release-manager or an admin); else on --data. */
export async function openRolloutControl(o: ResolvedOptions): Promise<RolloutControl> {
  if (o.credential === undefined) return controlOf(createCliAdmin(o.dataDir, USER), 'local');
  const view = await serverViewOptions(o);
  const client = createApiClient({
    server: view.url,
    ca: view.ca,
    credential: view.credential,
    tokenRequest: { scopes: ['releases:write'] },
    retryRateLimited: true,
  });
  // A token now: a credential that may not publish fails before any device connects.
  await doing(`signing in to the operator API at ${view.url} to publish and roll out (releases:write)`, () =>
    client.token(),
  ).catch((err) => {
    client.close();
    throw err;
  });
  return controlOf(createRemoteAdmin(client), 'api');
}

function controlOf(admin: FleetAdmin, via: 'api' | 'local'): RolloutControl {
  return {
    via,
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
    anchorSha256: () =>
      doing('reading the installed trust documents', async () => (await admin.trust.list())[0]?.sha256),
    close: () => admin.close(),
  };
}

/**
 * The virtual devices' firmware for a rollout drill: the hardware the bundle names and the sequence just below its
 * own (so the release is an upgrade for them), and the fleet's first trust document as their anchor. The bundle is
 * read, not verified: the server verifies it when it is published, and each device again.
 */
export async function rolloutDeviceSpec(o: ResolvedOptions, control: RolloutControl): Promise<PoolUpdateSpec> {
  const anchor = await trustAnchor(o, control);
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
}

/**
 * The devices' trust anchor: --trust FILE, which must be the fleet's first installed document (its sha256, which
 * the API gives; it does not give documents out), or else the first one installed in --data's database.
 */
async function trustAnchor(o: ResolvedOptions, control: RolloutControl): Promise<Uint8Array> {
  const installed = await control.anchorSha256();
  if (!installed) {
    throw new SimulatorError(
      'SIM_ROLLOUT',
      `no firmware trust document is installed on the server: install the one --release is signed for first ` +
        '(fleet trust set trust.cbor)',
    );
  }
  if (o.trust) {
    const given = createHash('sha256').update(o.trust).digest('hex');
    if (given !== installed)
      throw new SimulatorError(
        'SIM_ROLLOUT',
        `--trust is not the fleet's first trust document (its sha256 is ${given}, the installed one's ${installed})`,
      );
    return o.trust;
  }
  if (control.via === 'api')
    throw new SimulatorError(
      'SIM_ROLLOUT',
      "a rollout drill through the operator API needs --trust FILE: the fleet's first trust document, which the " +
        'devices trust (the API does not hand documents out)',
    );
  const db = openFleetDb(o.dataDir);
  try {
    return installedTrustDocuments(db)[0]!;
  } finally {
    db.close();
  }
}
