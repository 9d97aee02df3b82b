// FleetAdmin for `fleet … --data DIR` on the server host: the local implementation on the folder's database,
// with every change written to the operator audit trail as made through the CLI by the local user.
import { openEnvelope, peekCommandId } from '../../../shared/src/commands/index.js';
import type { StorageKey } from '../../../shared/src/index.js';
import type { FleetConfig } from '../config.js';
import type { OperatorAuditEntry } from '../db/operator-audit.js';
import { createOperatorAudit } from '../db/operator-audit.js';
import { fleetPaths, loadCa, openFleetDb } from '../fleet/data-dir.js';
import { createAdminService } from './local.js';
import type { FleetAdmin } from './types.js';

/** The command id an envelope carries, for the audit trail (not trusted for anything else). */
function commandIdOf(envelope: Uint8Array): string | undefined {
  const opened = openEnvelope(envelope);
  return (opened.ok && peekCommandId(opened.envelope.bodyBytes)) || undefined;
}

export interface CliAdminOptions {
  readonly config?: FleetConfig;
  /** The folder's storage key when it is encrypted at rest (fleet/at-rest.ts dataFolderKey). */
  readonly storageKey?: StorageKey | undefined;
}

export function createCliAdmin(dataDir: string, user: string, opts: CliAdminOptions = {}): FleetAdmin {
  const db = openFleetDb(dataDir, { storageKey: opts.storageKey });
  const admin = createAdminService({
    db,
    loadCa: () => loadCa(dataDir, opts.storageKey),
    ownsDb: true,
    releasesDir: fleetPaths(dataDir).releases,
    ...(opts.config ? { config: opts.config } : {}),
  }).forCaller({
    actor: `cli:${user}`,
    devices: null,
  });
  const trail = createOperatorAudit(db);
  const audited =
    <A extends unknown[], R>(
      action: string,
      object: (...args: A) => string | undefined,
      fn: (...args: A) => Promise<R>,
    ) =>
    async (...args: A): Promise<R> => {
      // The object is named when the entry is written: a publication knows its release id only once it is read.
      const entry = (): Omit<OperatorAuditEntry, 'outcome'> => ({
        operator: `local:${user}`,
        role: 'admin',
        action,
        objectType: action.split('.')[0]!,
        objectId: object(...args) ?? null,
        via: 'cli',
      });
      try {
        const out = await fn(...args);
        trail.record({ ...entry(), outcome: 'ok' });
        return out;
      } catch (err) {
        trail.record({ ...entry(), outcome: 'failed', detail: { code: (err as { code?: string }).code ?? null } });
        throw err;
      }
    };
  return {
    ...admin,
    devices: {
      ...admin.devices,
      add: audited('device.add', (r) => r.id, admin.devices.add),
      renew: audited('device.renew', (id) => id, admin.devices.renew),
      revoke: audited('device.revoke', (id) => id, admin.devices.revoke),
    },
    operators: {
      ...admin.operators,
      add: audited('operator.add', (r) => r.name, admin.operators.add),
      revoke: audited('operator.revoke', (name) => name, admin.operators.revoke),
    },
    enrollment: {
      createTokens: audited('enrollment.create-tokens', (r) => r.deviceType, admin.enrollment.createTokens),
    },
    fleetAudit: {
      ...admin.fleetAudit,
      run: audited('fleet-audit.run', () => undefined, admin.fleetAudit.run),
    },
    commands: {
      ...admin.commands,
      reserveCounter: audited('command-counter.reserve', (kid) => kid, admin.commands.reserveCounter),
      submit: audited('command.submit', (_id, envelope) => commandIdOf(envelope), admin.commands.submit),
    },
    dashboard: {
      ...admin.dashboard,
      link: audited('dashboard.link', (operator) => operator, admin.dashboard.link),
    },
    rollouts: {
      ...admin.rollouts,
      create: audited('rollout.create', (r) => r.releaseId, admin.rollouts.create),
      pause: audited('rollout.pause', (id) => String(id), admin.rollouts.pause),
      resume: audited('rollout.resume', (id) => String(id), admin.rollouts.resume),
      abort: audited('rollout.abort', (id) => String(id), admin.rollouts.abort),
    },
    releases: {
      ...admin.releases,
      // The object is the release id, known once the bundle is read: recorded after, whatever the outcome.
      publish: async (source) => {
        let id: string | undefined;
        const publish = audited(
          'release.publish',
          () => id,
          async () => {
            const out = await admin.releases.publish(source);
            id = out.release.id;
            return out;
          },
        );
        return publish();
      },
    },
    trust: {
      ...admin.trust,
      set: audited('trust.set', (_document: Uint8Array) => undefined, admin.trust.set),
    },
  };
}
