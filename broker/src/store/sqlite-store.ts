// The fleet store on SQLite: today's repositories (broker/src/db, fleet/ingest-store.ts, fleet/releases.ts) behind
// the async interface, with their SQL where it is; release bundles are the data folder's releases/{id}.ewfw files.
// better-sqlite3 is synchronous, so each call runs to its end before the promise settles: a resolved writeBatch has
// committed. Like the server's ingest, writeBatch takes itself for the folder's only writer of telemetry (its
// sample keys are cached: fleet/ingest-keys.ts): the caller holds the data folder lock (lockDataDir), as `fleet
// serve` does.
import { createReadStream, existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { createArrivalCounts } from '../db/arrival-order.js';
import { createAuditLog, createAuditPage } from '../db/audit.js';
import { createAuditRuns } from '../db/audit-runs.js';
import { createCommandStore } from '../db/commands.js';
import { createNodeConnections } from '../db/connections.js';
import { createDashboardSessions } from '../db/dashboard-sessions.js';
import { createExposureStore } from '../db/exposure.js';
import { createFleetAuditReads } from '../db/fleet-audit.js';
import { createReceivedReports } from '../db/exposure-pages.js';
import { migrate, schemaVersion, type Db } from '../db/open.js';
import { migrations } from '../db/migrations.js';
import { createOperatorAudit } from '../db/operator-audit.js';
import { createOperatorStore } from '../db/operators.js';
import { createPostureSnapshots } from '../db/posture-snapshots.js';
import { createRegistry } from '../db/registry.js';
import { createRolloutStore } from '../db/rollouts.js';
import { createTelemetryReader } from '../db/telemetry.js';
import { createTokenKeys } from '../db/token-keys.js';
import { createTokenStore } from '../db/tokens.js';
import { FleetError } from '../errors.js';
import { createIngestStore, type IngestStore, type StoreItem } from '../fleet/ingest-store.js';
import { DUPLICATE, REJECTED } from '../fleet/ingest-result.js';
import { KEEP_EVERYTHING, type Retention } from '../fleet/ingest-retention.js';
import { createReleaseStore, materialiseBundle, recordRelease, releaseFile, removeQuietly } from '../fleet/releases.js';
import { createDeviceKeyStore } from '../fleet/seal-keys.js';
import { sqliteFailure } from './failure.js';
import { STORE_TABLES, type StoreTable } from './tables.js';
import type { BatchOutcome, FleetStore } from './types.js';

/** Runs one synchronous repository call, its engine errors turned into the store's typed ones. */
function call<T>(where: string, fn: () => T): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (err) {
    return Promise.reject(sqliteFailure(err, where) ?? err);
  }
}

/** A clock the audit repositories read: the caller's `at` for one record, else the time. */
function stampedClock() {
  let at: number | undefined;
  return {
    now: () => at ?? Date.now(),
    with<T>(stamp: number | undefined, fn: () => T): T {
      at = stamp;
      try {
        return fn();
      } finally {
        at = undefined;
      }
    },
  };
}

/** A bundle is read from its file in chunks of this size: a bundle may be 1 GiB. */
const BUNDLE_READ_BYTES = 1 << 20;

export interface SqliteStoreOptions {
  /** The data folder's releases/ (fleetPaths(dir).releases), where the bundles are: to record or read one. */
  readonly releasesDir?: string;
}

/** The store over an open fleet database (openFleetDb); close() closes it. */
export function createSqliteStore(db: Db, opts: SqliteStoreOptions = {}): FleetStore {
  const registry = createRegistry(db);
  // Made on the first batch: its sample keys read (and may repair) the telemetry index, which only the folder's
  // writer of telemetry should do; a store opened for reads (the admin service) never makes it.
  // Its pruner keeps state for the retention it was made with: prune() with another one makes it again.
  let ingest: { readonly store: IngestStore; readonly retention: string } | undefined;
  const ingestFor = (retention?: Retention): IngestStore => {
    const wanted = retention ? JSON.stringify(retention) : (ingest?.retention ?? JSON.stringify(KEEP_EVERYTHING));
    if (ingest?.retention !== wanted) {
      ingest = { store: createIngestStore(db, retention ?? KEEP_EVERYTHING), retention: wanted };
    }
    return ingest.store;
  };
  const telemetry = createTelemetryReader(db);
  const exposure = createExposureStore(db);
  const commands = createCommandStore(db);
  const releases = createReleaseStore({ db });
  const rollouts = createRolloutStore(db);
  const releasesDir = () => {
    if (opts.releasesDir === undefined) throw new Error('this SQLite store was opened without its releases folder');
    return opts.releasesDir;
  };
  const auditClock = stampedClock();
  const audit = createAuditLog(db, auditClock.now);
  const operatorClock = stampedClock();
  const operatorAudit = createOperatorAudit(db, operatorClock.now);
  const snapshots = createPostureSnapshots(db);
  const auditPage = createAuditPage(db);
  const receivedReports = createReceivedReports(db);
  const telemetryCounts = createArrivalCounts(db, 'telemetry');
  const auditCounts = createArrivalCounts(db, 'audit');
  const sealKeys = createDeviceKeyStore(db);
  const tokens = createTokenStore(db);
  const operatorsClock = stampedClock();
  const operators = createOperatorStore(db, operatorsClock.now);
  const sessionsClock = stampedClock();
  const sessions = createDashboardSessions(db, sessionsClock.now);
  const tokenKeys = createTokenKeys(db);
  const auditReads = createFleetAuditReads(db);
  const auditRuns = createAuditRuns(db);
  const connections = createNodeConnections(db);
  // IMMEDIATE: the count of active admins and the revocation are one decision, which no other connection may split.
  const revokeOperator = db.transaction((name: string, by: string) => {
    const op = operators.byName(name);
    if (op?.status === 'active' && op.role === 'admin' && operators.activeAdmins() <= 1) {
      throw new FleetError('FLEET_LAST_ADMIN', `${name} is the last active admin; add another admin first`);
    }
    return operators.revoke(name, by);
  });
  const liveSerials = db
    .prepare('SELECT serial FROM certificates WHERE device_id = ? AND revoked_at IS NULL ORDER BY serial')
    .pluck();
  const activeKeys = db.prepare(
    'SELECT key_id, public_key FROM device_keys WHERE device_id = ? AND retired_at IS NULL ORDER BY created_at',
  );
  const countOf = Object.fromEntries(
    STORE_TABLES.map((t) => [t.name, db.prepare(`SELECT count(*) FROM ${t.name}`).pluck()]),
  );

  /** The foreign key the SQLite schema leaves to ingest: items of devices the registry does not hold are refused. */
  function writeBatch(items: readonly StoreItem[], at: number): BatchOutcome[] {
    const known = new Map<string, boolean>();
    const isKnown = (id: string) => known.get(id) ?? known.set(id, registry.exists(id)).get(id)!;
    const kept = items.filter((i) => isKnown(i.deviceId));
    const results = kept.length > 0 ? ingestFor().writeBatch(kept, at) : [];
    let k = 0;
    return items.map((item): BatchOutcome => {
      if (!isKnown(item.deviceId)) return { outcome: 'refused', reason: 'unknown-device' };
      const r = results[k++]!;
      if (r === DUPLICATE) return { outcome: 'duplicate' };
      if (r === REJECTED) return { outcome: 'refused', reason: 'rejected' };
      return { outcome: 'stored', samples: r };
    });
  }

  return {
    engine: 'sqlite',
    migrate: () => call('migrate', () => migrate(db, migrations)),
    schemaVersion: () => call('schemaVersion', () => schemaVersion(db)),
    counts: () =>
      call(
        'counts',
        () =>
          Object.fromEntries(STORE_TABLES.map((t) => [t.name, countOf[t.name]!.get() as number])) as Record<
            StoreTable,
            number
          >,
      ),
    close: () => call('close', () => void db.close()),
    registry: {
      exists: (id) => call('registry.exists', () => registry.exists(id)),
      addDevice: (id, type, cert, now, sealKey) =>
        call('registry.addDevice', () => registry.addDevice(id, type, cert, now, sealKey)),
      // IMMEDIATE: it reads the live serials before writing, and a deferred transaction whose snapshot another
      // connection (`fleet … --data` beside the server) wrote past cannot take the write lock (SQLITE_BUSY_SNAPSHOT).
      renew: (id, r, now = Date.now()) =>
        call('registry.renew', () =>
          db
            .transaction(() => {
              const revokedSerials = r.revokeOld ? (liveSerials.all(id) as string[]) : [];
              if (r.revokeOld) registry.revokeCertificates(id, now);
              registry.addCertificate(id, r.cert, now);
              if (!r.sealKey) return { revokedSerials, retired: 0 };
              const kid = sealKeys.add(id, r.sealKey, now);
              return { revokedSerials, retired: r.revokeOld ? sealKeys.retireAllBut(id, kid, now) : 0 };
            })
            .immediate(),
        ),
      page: (q) => call('registry.page', () => registry.page(q)),
      counts: () => call('registry.counts', () => registry.counts()),
      expiring: (until, limit) => call('registry.expiring', () => registry.expiring(until, limit)),
      addCertificate: (id, cert, now) => call('registry.addCertificate', () => registry.addCertificate(id, cert, now)),
      get: (id) => call('registry.get', () => registry.get(id)),
      list: () => call('registry.list', () => registry.list()),
      revoke: (id, now) => call('registry.revoke', () => registry.revoke(id, now)),
      checkCertificate: (id, serial, now) =>
        call('registry.checkCertificate', () => registry.checkCertificate(id, serial, now)),
      revokedDeviceIds: () => call('registry.revokedDeviceIds', () => registry.revokedDeviceIds()),
      setOnline: (id, online, address, now) =>
        call('registry.setOnline', () => registry.setOnline(id, online, address, now)),
      // One node: its devices' flags are reset when it starts (connections.closeAll), none is held elsewhere.
      onlineNodes: () => Promise.resolve([]),
      releaseNodes: () => Promise.resolve(0),
      markSealKeysUsed: (used) =>
        call('registry.markSealKeysUsed', () =>
          db.transaction(() => {
            for (const u of used) sealKeys.markUsed(u.deviceId, u.kid, u.at);
          })(),
        ),
      currentSealKey: (id) => call('registry.currentSealKey', () => sealKeys.current(id)),
      sealKeys: (ids) =>
        call('registry.sealKeys', () =>
          [...new Set(ids)].flatMap((deviceId) =>
            (activeKeys.all(deviceId) as { key_id: Uint8Array; public_key: Uint8Array }[]).map((k) => ({
              deviceId,
              kid: new Uint8Array(k.key_id),
              publicKey: new Uint8Array(k.public_key),
            })),
          ),
        ),
    },
    ingest: {
      writeBatch: (items, at) => call('ingest.writeBatch', () => writeBatch(items, at)),
      prune: (retention, now) => call('ingest.prune', () => ingestFor(retention).prune(now)),
    },
    telemetry: {
      page: (q) => call('telemetry.page', () => telemetry.page(q)),
      fleetPage: (q) => call('telemetry.fleetPage', () => telemetry.fleetPage(q)),
      countPerPeriod: (starts) => call('telemetry.countPerPeriod', () => telemetryCounts(starts)),
    },
    reports: {
      latest: (id) => call('reports.latest', () => exposure.latest(id)),
      history: (id, limit) => call('reports.history', () => exposure.history(id, limit)),
      received: (q) => call('reports.received', () => receivedReports(q)),
      posture: (worst) => call('reports.posture', () => exposure.posture(worst)),
    },
    commands: {
      reservedCounter: (kid) => call('commands.reservedCounter', () => commands.reservedCounter(kid)),
      counterUsed: (kid, counter) => call('commands.counterUsed', () => commands.counterUsed(kid, counter)),
      nextCounter: (kid) => call('commands.nextCounter', () => commands.nextCounter(kid)),
      add: (c) =>
        call('commands.add', () => {
          // SQLite's commands table has no foreign key to devices (PostgreSQL's has): the store keeps the rule.
          if (!registry.exists(c.deviceId)) {
            throw new FleetError('FLEET_STORE_CONSTRAINT', `commands.add: no device ${c.deviceId} (foreign key)`);
          }
          commands.add(c);
        }),
      get: (id) => call('commands.get', () => commands.get(id)),
      list: (deviceId, limit) => call('commands.list', () => commands.list(deviceId, limit)),
      openFor: (deviceId, now) =>
        call('commands.openFor', () =>
          commands.openFor(deviceId, now).map((c) => ({ id: c.id, envelope: new Uint8Array(c.envelope) })),
        ),
      markSent: (id, now) => call('commands.markSent', () => commands.markSent(id, now)),
      devicesWithPending: (now) => call('commands.devicesWithPending', () => commands.devicesWithPending(now)),
      expire: (now) => call('commands.expire', () => commands.expire(now)),
      acks: (q) => call('commands.acks', () => commands.acks(q)),
    },
    releases: {
      async record(r, bundle) {
        const dir = releasesDir();
        const file = releaseFile(dir, r.id);
        if (statSync(bundle).size !== r.size) {
          throw new FleetError('FLEET_STORE_CONSTRAINT', `the bundle ${bundle} is not ${r.size} bytes long`);
        }
        // The publisher renames a verified bundle into place first; any other file is copied there (hash checked).
        const placed = resolve(bundle) !== resolve(file) && !existsSync(file);
        if (placed) await materialiseBundle(createReadStream(bundle), dir, r.id);
        try {
          await call('releases.record', () => recordRelease(db, r));
        } catch (err) {
          if (placed) removeQuietly(file);
          const code = ((err as FleetError).cause as { code?: string } | undefined)?.code;
          if (code !== 'SQLITE_CONSTRAINT_UNIQUE' && code !== 'SQLITE_CONSTRAINT_PRIMARYKEY') throw err;
          throw new FleetError(
            'FLEET_RELEASE_CONFLICT',
            `a release with id ${r.id.slice(0, 12)} or sequence ${r.sequence} for ${r.hardware} exists already`,
            { cause: err },
          );
        }
      },
      list: () => call('releases.list', () => releases.list()),
      get: (id) => call('releases.get', () => releases.get(id)),
      async *bundle(id) {
        const r = await call('releases.bundle', () => releases.get(id));
        if (r.id !== id) throw new FleetError('FLEET_RELEASE_UNKNOWN', `no release ${id}`);
        yield* createReadStream(releaseFile(releasesDir(), id), { highWaterMark: BUNDLE_READ_BYTES });
      },
      trustDocuments: () => call('releases.trustDocuments', () => releases.trustDocuments()),
      listTrust: () => call('releases.listTrust', () => releases.listTrust()),
      installTrust: (document, by, now) =>
        call('releases.installTrust', () => releases.installTrust(document, by, now)),
    },
    rollouts: {
      create: (req, actor, now) => call('rollouts.create', () => rollouts.create(req, actor, now)),
      get: (id) => call('rollouts.get', () => rollouts.get(id)),
      view: (id, o) => call('rollouts.view', () => rollouts.view(id, o)),
      list: (limit) => call('rollouts.list', () => rollouts.list(limit)),
      runningIds: () => call('rollouts.runningIds', () => rollouts.runningIds()),
      counts: (id) => call('rollouts.counts', () => rollouts.counts(id)),
      committedBelow: (id, n) => call('rollouts.committedBelow', () => rollouts.committedBelow(id, n)),
      failures: (id) => call('rollouts.failures', () => rollouts.failures(id)),
      pendingBelow: (id, n) => call('rollouts.pendingBelow', () => rollouts.pendingBelow(id, n)),
      transition: (id, event, now, reason) =>
        call('rollouts.transition', () => rollouts.transition(id, event, now, reason)),
      advanceStage: (r, now) => call('rollouts.advanceStage', () => rollouts.advanceStage(r, now)),
      offer: (id, offers, now) => call('rollouts.offer', () => rollouts.offer(id, offers, now)),
      dueFor: (deviceId, now) =>
        call('rollouts.dueFor', () => ({
          inProgress: rollouts.inProgressFor(deviceId),
          cancelled: rollouts.cancelledFor(deviceId, now),
        })),
      cancelledDevices: (now) => call('rollouts.cancelledDevices', () => rollouts.cancelledDevices(now)),
      trustDocuments: (max) =>
        call('rollouts.trustDocuments', () => rollouts.trustDocuments(max).map((d) => new Uint8Array(d))),
      grants: (hash) => call('rollouts.grants', () => rollouts.grants(hash)),
    },
    audit: {
      record: (e, at) => call('audit.record', () => auditClock.with(at, () => audit.record(e))),
      recent: (limit, event) => call('audit.recent', () => audit.recent(limit, event ?? null)),
      page: (q) => call('audit.page', () => auditPage(q)),
      countPerPeriod: (starts) => call('audit.countPerPeriod', () => auditCounts(starts)),
    },
    operatorAudit: {
      record: (e, at) => call('operatorAudit.record', () => operatorClock.with(at, () => operatorAudit.record(e))),
      page: (q) => call('operatorAudit.page', () => operatorAudit.page(q)),
    },
    posture: {
      store: (s, computedAt) => call('posture.store', () => snapshots.store(s, computedAt)),
      read: (resolution, from, to) => call('posture.read', () => snapshots.read(resolution, from, to)),
      compute: (resolution, start) => call('posture.compute', () => snapshots.compute(resolution, start)),
      starts: (resolution, from, to) => call('posture.starts', () => snapshots.starts(resolution, from, to)),
      firstReportAt: () => call('posture.firstReportAt', () => snapshots.firstReportAt()),
      pruneHours: (before) => call('posture.pruneHours', () => snapshots.pruneHours(before)),
    },
    enrollTokens: {
      create: (count, ttlMs, deviceType, now) =>
        call('enrollTokens.create', () => tokens.create(count, ttlMs, deviceType, now)),
      claim: (token, deviceId, now) => call('enrollTokens.claim', () => tokens.claim(token, deviceId, now)),
    },
    operators: {
      add: (op, now) => call('operators.add', () => operatorsClock.with(now, () => operators.add(op))),
      byName: (name) => call('operators.byName', () => operators.byName(name)),
      byKid: (kid) => call('operators.byKid', () => operators.byKid(kid)),
      byId: (id) => call('operators.byId', () => operators.byId(id)),
      list: () => call('operators.list', () => operators.list()),
      revoke: (name, by, now) =>
        call('operators.revoke', () => operatorsClock.with(now, () => revokeOperator.immediate(name, by))),
      activeAdmins: () => call('operators.activeAdmins', () => operators.activeAdmins()),
      current: (id) => call('operators.current', () => operators.current(id)),
    },
    dashboardSessions: {
      createLink: (operatorId, now) =>
        call('dashboardSessions.createLink', () => sessionsClock.with(now, () => sessions.createLink(operatorId))),
      redeem: (secret, now) =>
        call('dashboardSessions.redeem', () => sessionsClock.with(now, () => sessions.redeem(secret))),
      session: (secret, now) =>
        call('dashboardSessions.session', () => sessionsClock.with(now, () => sessions.session(secret))),
      end: (secret, now) => call('dashboardSessions.end', () => sessionsClock.with(now, () => sessions.end(secret))),
    },
    tokenKeys: {
      publish: (key) => call('tokenKeys.publish', () => tokenKeys.publish(key)),
      get: (kid) => call('tokenKeys.get', () => tokenKeys.get(kid)),
      prune: (before) => call('tokenKeys.prune', () => tokenKeys.prunePublished(before)),
    },
    fleetAudit: {
      expiringCertificates: (until) =>
        call('fleetAudit.expiringCertificates', () => auditReads.expiringCertificates(until)),
      revokedConnected: () => call('fleetAudit.revokedConnected', () => auditReads.revokedConnected()),
      sharedCertificates: (since, now) =>
        call('fleetAudit.sharedCertificates', () => auditReads.sharedCertificates(since, now)),
      takeovers: (since) => call('fleetAudit.takeovers', () => auditReads.takeovers(since)),
      unseenSince: (before) => call('fleetAudit.unseenSince', () => auditReads.unseenSince(before)),
      lowExposure: (below) => call('fleetAudit.lowExposure', () => auditReads.lowExposure(below)),
      saveRun: (findings, at) => call('fleetAudit.saveRun', () => auditRuns.save(findings, at)),
      latestRun: () => call('fleetAudit.latestRun', () => auditRuns.latest()),
    },
    connections: {
      record: (c) =>
        call('connections.record', () => (c.kind === 'opened' ? connections.opened(c) : connections.closed(c))),
      openNodes: () => call('connections.openNodes', () => connections.openNodes()),
      closeNodes: (nodes, at) => call('connections.closeNodes', () => connections.closeNodes(nodes, at)),
    },
  };
}
