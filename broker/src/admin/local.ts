// FleetAdmin on the server's own database: what the API's handlers call for the verified operator, and what
// `fleet … --data DIR` calls on the server host. Changes that matter to security go to the security event log
// with the actor; the operator audit trail is written by whoever calls (the API per request, the CLI per command).
import { createPublicKey } from 'node:crypto';
import {
  assertDeviceId,
  keyId,
  parsePublicKeyPem,
  parseSealPublicKeyPem,
  hexKid,
  sealKeyId,
  sealPublicKeyToPem,
} from '../../../shared/src/index.js';
import { ROLES } from '../api/roles.js';
import { type FleetConfig, parseFleetConfig } from '../config.js';
import { type AuditEvent, createAuditLog } from '../db/audit.js';
import type { Db } from '../db/open.js';
import type { Operator } from '../db/operators.js';
import { createRegistry, type DeviceSummary } from '../db/registry.js';
import { FleetError } from '../errors.js';
import { checkDeviceCsr, DEFAULT_DEVICE_VALIDITY_DAYS } from '../fleet/provision.js';
import { certificateFacts, issueDeviceCert, type CaBundle } from '../pki/x509.js';
import { type CallerContext, cursorOf, timeOf } from './local-context.js';
import { localCommands } from './local-commands.js';
import { localDashboard } from './local-dashboard.js';
import { localFleetAudit } from './local-fleet-audit.js';
import { localReleases } from './local-releases.js';
import { localReports } from './local-reports.js';
import { localRollouts } from './local-rollouts.js';
import { createReleasePublisher } from '../fleet/release-publisher.js';
import type { FleetAdmin, IssuedCertificate, OperatorView, Page } from './types.js';

import { createSqliteStore } from '../store/sqlite-store.js';
import type { FleetStore } from '../store/types.js';

export const DEFAULT_PAGE = 100;
export const MAX_PAGE = 1000;

export interface AdminServiceOptions {
  readonly db: Db;
  readonly loadCa: () => Promise<CaBundle>;
  readonly now?: () => number;
  /** Closes the database on close() (the CLI's own connection); the server's stays open. */
  readonly ownsDb?: boolean;
  /** The server's config: the fleet audit's thresholds. */
  readonly config?: FleetConfig;
  /**
   * Called after a change the running server must act on at once (a revocation, a queued command). The server's
   * own writes do not show in SQLite's data_version, which is how it notices other processes' changes.
   */
  readonly onChange?: () => void;
  /**
   * A cluster on PostgreSQL: the store every node shares. The device registry, what devices sent, the security
   * events, the commands, releases, trust documents, rollouts, the operators and the dashboard's links are read
   * from and written to it.
   */
  readonly store?: FleetStore | undefined;
  /** An operator was revoked in the shared store: the running server closes its streams and tells the others. */
  readonly onOperatorRevoked?: (name: string) => void;
  /**
   * Devices or certificates revoked in the shared store (a cluster): the running server drops their sessions here
   * and tells the other nodes. (A revocation in `db` is seen by onChange.)
   */
  readonly onRevoked?: (r: { deviceIds?: readonly string[]; serials?: readonly string[] }) => void;
  /** A command was queued for the device (a cluster node tells the node holding its session). */
  readonly onCommandQueued?: (deviceId: string) => void;
  /** The data folder's releases/ (fleetPaths(dir).releases): where published bundles are kept. */
  readonly releasesDir?: string;
}

/** Who acts through a FleetAdmin. */
export interface Caller {
  /** As the security event log names them: `operator:alice`, `cli:root@host`. */
  readonly actor: string;
  /** The devices the caller may see and touch (a device-limited token); null: all. */
  readonly devices: readonly string[] | null;
  /**
   * The operator acting through the API: the commands they submit must be signed with their registered key.
   * Absent on the server host (`--data`), where any operator key the devices trust may sign.
   */
  readonly operatorId?: number;
}

export type AdminService = ReturnType<typeof createAdminService>;

const pageSize = (limit: number | undefined) => Math.min(Math.max(1, limit ?? DEFAULT_PAGE), MAX_PAGE);

/** A device's sealing public key from a request (SPKI PEM); FLEET_SEAL_KEY_INVALID when it is not one. */
function parseSealKey(pem: string | undefined): Uint8Array | undefined {
  if (pem === undefined) return undefined;
  try {
    return parseSealPublicKeyPem(pem, 'sealKey');
  } catch (err) {
    throw new FleetError('FLEET_SEAL_KEY_INVALID', (err as Error).message);
  }
}

export function operatorView(o: Operator): OperatorView {
  return {
    name: o.name,
    role: o.role,
    kid: o.kid,
    status: o.status,
    createdAt: o.createdAt,
    createdBy: o.createdBy,
    revokedAt: o.revokedAt,
    revokedBy: o.revokedBy,
  };
}

/** The certificate for a CSR: it must verify (proof of possession) and name the device as its CN. */
async function certificateForCsr(ca: CaBundle, id: string, csrPem: string, validityDays: number) {
  const csr = await checkDeviceCsr(csrPem, id);
  const pem = (await issueDeviceCert(ca, id, csr.publicKey, validityDays)).toString('pem');
  return { pem, facts: certificateFacts(pem) };
}

/** Prepares the stores once; `forCaller` is cheap (one object per request). */
export function createAdminService(opts: AdminServiceOptions) {
  const { db } = opts;
  const now = opts.now ?? Date.now;
  const changed = () => opts.onChange?.();
  // Loaded once: `fleet device add --bulk` issues many certificates with one CA.
  let ca: Promise<CaBundle> | undefined;
  const loadCaOnce = () => {
    ca ??= opts.loadCa();
    ca.catch(() => (ca = undefined));
    return ca;
  };
  const registry = createRegistry(db);
  const events = createAuditLog(db, now);
  const shared = opts.store;
  // Where the devices' records are read: the cluster's store, or this database through the same interface.
  const records: FleetStore =
    shared ?? createSqliteStore(db, opts.releasesDir === undefined ? {} : { releasesDir: opts.releasesDir });
  const { operators } = records;
  const reportsFor = localReports({ db, records, now, pageSize });
  const commandsFor = localCommands({
    db,
    operators,
    events,
    now,
    pageSize,
    changed,
    shared: shared?.commands,
    ...(opts.onCommandQueued ? { queued: opts.onCommandQueued } : {}),
  });
  const config = opts.config ?? parseFleetConfig({});
  const fleetAudit = localFleetAudit({ store: records.fleetAudit, config, loadCa: loadCaOnce, now });
  const dashboard = localDashboard({ records, now, expiringWithinDays: config.audit.expiringWithinDays });
  /** A security event of an admin action, where the devices' records are (the shared store on a cluster). */
  const recordEvent = (e: AuditEvent) => records.audit.record(e, now());
  const rolloutsFor = localRollouts({ rollouts: records.rollouts, record: recordEvent, now, changed });
  const publisher = createReleasePublisher({
    releases: records.releases,
    dir: opts.releasesDir ?? '',
    maxBundleBytes: config.releases.maxBundleBytes,
    now,
  });
  return { forCaller: (caller: Caller) => adminFor(caller) };

  function adminFor({ actor, devices, operatorId }: Caller): FleetAdmin {
    const visible = (id: string) => !devices || devices.includes(id);

    const device = async (id: string): Promise<DeviceSummary> => {
      const d = visible(id) ? await records.registry.get(id) : undefined;
      if (!d) throw new FleetError('FLEET_DEVICE_UNKNOWN', `no device ${id} is registered`);
      return d;
    };
    const ctx: CallerContext = { actor, devices, operatorId, visible, device };
    const { reports, telemetry, fleetTelemetry } = reportsFor(ctx);

    const issued = async (id: string, csr: string, validityDays: number | undefined) => {
      const ca = await loadCaOnce();
      const cert = await certificateForCsr(ca, id, csr, validityDays ?? DEFAULT_DEVICE_VALIDITY_DAYS);
      const out: IssuedCertificate = {
        deviceId: id,
        certificate: cert.pem,
        ca: ca.cert.toString('pem'),
        serial: cert.facts.serial,
        notAfter: new Date(cert.facts.notAfter).toISOString(),
      };
      return { facts: cert.facts, out };
    };

    return {
      devices: {
        async list(q = {}) {
          const limit = pageSize(q.limit);
          const rows = await records.registry.page({
            limit: limit + 1,
            ids: devices,
            ...(q.cursor ? { after: q.cursor } : {}),
            ...(q.status ? { status: q.status } : {}),
          });
          const items = rows.slice(0, limit);
          return { items, next: rows.length > limit ? items.at(-1)!.id : null } satisfies Page<DeviceSummary>;
        },
        async get(id) {
          return device(id);
        },
        async add(req) {
          assertDeviceId(req.id);
          const exists = () => new FleetError('FLEET_DEVICE_EXISTS', `device ${req.id} is already registered`);
          if (await records.registry.exists(req.id)) throw exists();
          const sealKey = parseSealKey(req.sealKey);
          const { facts, out } = await issued(req.id, req.csr, req.validityDays);
          const backend = sealKey && (await loadCaOnce()).sealPublicKey;
          const type = req.type ?? 'default';
          const added: AuditEvent = { event: 'device.added', deviceId: req.id, actor, detail: { type } };
          if (shared) {
            // The id's UNIQUE key decides between nodes adding the same device at once.
            await shared.registry.addDevice(req.id, type, facts, now(), sealKey).catch((err: FleetError) => {
              throw err.code === 'FLEET_STORE_CONSTRAINT' ? exists() : err;
            });
            await recordEvent(added);
          } else {
            // One commit for both: `fleet device add --bulk` adds thousands.
            db.transaction(() => {
              registry.addDevice(req.id, type, facts, now(), sealKey);
              events.record(added);
            })();
          }
          return backend ? { ...out, backendSealKey: sealPublicKeyToPem(backend) } : out;
        },
        async renew(id, req) {
          const d = await device(id);
          if (d.status !== 'active') {
            throw new FleetError(
              'FLEET_DEVICE_REVOKED',
              `device ${id} is revoked; enrol it again under a new id instead`,
            );
          }
          const sealKey = parseSealKey(req.sealKey);
          const { facts, out } = await issued(id, req.csr, req.validityDays);
          const backend = sealKey && (await loadCaOnce()).sealPublicKey;
          const revokeOld = req.revokeOld === true;
          const { revokedSerials, retired } = await records.registry.renew(
            id,
            { cert: facts, revokeOld, ...(sealKey ? { sealKey } : {}) },
            now(),
          );
          await recordEvent({
            event: 'device.renewed',
            deviceId: id,
            actor,
            detail: {
              serial: out.serial,
              revokedOld: req.revokeOld === true,
              ...(sealKey ? { sealKey: hexKid(sealKeyId(sealKey)), sealKeysRetired: retired } : {}),
            },
          });
          if (revokeOld) {
            changed();
            if (shared && revokedSerials.length > 0) opts.onRevoked?.({ serials: revokedSerials });
          }
          return backend ? { ...out, backendSealKey: sealPublicKeyToPem(backend) } : out;
        },
        async revoke(id) {
          await device(id);
          const revoked = await records.registry.revoke(id, now());
          await recordEvent({ event: 'device.revoked', deviceId: id, actor });
          changed();
          if (shared) opts.onRevoked?.({ deviceIds: [id] });
          return { deviceId: id, revoked };
        },
      },

      operators: {
        async list() {
          return (await operators.list()).map(operatorView);
        },
        async add(req) {
          if (!Object.hasOwn(ROLES, req.role))
            throw new FleetError('FLEET_OPERATOR_INVALID', `unknown role ${req.role}`);
          if (req.publicKey.includes('PRIVATE KEY')) {
            throw new FleetError(
              'FLEET_OPERATOR_INVALID',
              'send the public key only; the private key stays with its holder',
            );
          }
          const pair = parsePublicKeyPem(req.publicKey, 'publicKey');
          const pem = createPublicKey(req.publicKey).export({ type: 'spki', format: 'pem' }).toString();
          const kid = keyId(pair);
          if (await operators.byName(req.name)) {
            throw new FleetError('FLEET_OPERATOR_EXISTS', `an operator named ${req.name} exists already`);
          }
          const holder = await operators.byKid(kid);
          if (holder) throw new FleetError('FLEET_OPERATOR_EXISTS', `operator ${holder.name} holds this key already`);
          // The UNIQUE name and kid decide between nodes adding the same operator at once.
          const op = await operators
            .add({ name: req.name, kid, publicKey: pem, role: req.role, createdBy: actor }, now())
            .catch((err: FleetError) => {
              if (err.code !== 'FLEET_STORE_CONSTRAINT') throw err;
              throw new FleetError('FLEET_OPERATOR_EXISTS', `an operator named ${req.name} or with this key exists`);
            });
          await recordEvent({ event: 'operator.added', actor, detail: { name: req.name, role: req.role, kid } });
          return operatorView(op);
        },
        async revoke(name) {
          const op = await operators.byName(name);
          if (!op) throw new FleetError('FLEET_OPERATOR_UNKNOWN', `no operator named ${name}`);
          // The store refuses to revoke the last active admin (FLEET_LAST_ADMIN), in the revoking transaction.
          const revoked = await operators.revoke(name, actor, now());
          await recordEvent({ event: 'operator.revoked', actor, detail: { name } });
          if (revoked) {
            changed();
            if (shared) opts.onOperatorRevoked?.(name);
          }
          return { name, revoked };
        },
      },

      enrollment: {
        async createTokens(req) {
          const { tokens, expires } = await records.enrollTokens.create(
            req.count,
            req.ttlSeconds * 1000,
            req.deviceType,
            now(),
          );
          const at = new Date(expires).toISOString();
          await recordEvent({
            event: 'enroll.tokens-created',
            actor,
            detail: { count: req.count, deviceType: req.deviceType, expires: at },
          });
          return { tokens, expires: at };
        },
      },

      reports,
      telemetry,
      fleetTelemetry,
      fleetAudit,
      commands: commandsFor(ctx),
      dashboard,
      rollouts: rolloutsFor(ctx),
      ...localReleases({ releases: records.releases, publisher, record: recordEvent, actor, now }),

      async events(q = {}) {
        const limit = pageSize(q.limit);
        const since = timeOf(q.since, 'since');
        const before = cursorOf(q.cursor);
        const query = {
          ...(before !== undefined ? { before } : {}),
          ...(since !== undefined ? { since } : {}),
          event: q.event ?? null,
          deviceId: q.deviceId ?? null,
          devices,
          limit: limit + 1,
        };
        const rows = await records.audit.page(query);
        const items = rows.slice(0, limit);
        return { items, next: rows.length > limit ? String(items.at(-1)!.id) : null };
      },

      async auditTrail(q = {}) {
        const limit = pageSize(q.limit);
        const before = cursorOf(q.cursor);
        const rows = await records.operatorAudit.page({
          limit: limit + 1,
          ...(before !== undefined ? { before } : {}),
          ...(q.operator ? { operator: q.operator } : {}),
          ...(q.action ? { action: q.action } : {}),
        });
        const items = rows.slice(0, limit);
        return { items, next: rows.length > limit ? String(items.at(-1)!.id) : null };
      },

      close() {
        if (opts.ownsDb) db.close();
      },
    };
  }
}
