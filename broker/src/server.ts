// createFleetServer: the composition of database, registry, ingest, MQTT listener and HTTPS server.
import { createLogger, deviceTopic, type Logger, type StorageKey } from '../../shared/src/index.js';
import { parseFleetConfig, type FleetConfig } from './config.js';
import { createAuditLimiter, createAuditLog, type AuditLog } from './db/audit.js';
import { createConnectionLog, type ConnectionLog } from './db/connections.js';
import { createWriteBehind } from './db/write-behind.js';
import { dbFailure, stopsTheServer } from './db/failure.js';
import { FleetError } from './errors.js';
import type { Db } from './db/open.js';
import { createRegistry, type Registry } from './db/registry.js';
import { fleetPaths, loadCa, loadServerTls, lockDataDir, openFleetDb } from './fleet/data-dir.js';
import { tokenSignerFromUri } from './api/token-signer.js';
import { createEnrollment } from './fleet/enrollment.js';
import { withFolderCipher } from './fleet/at-rest.js';
import { createIngest, type Ingest, type StoredEvent } from './fleet/ingest.js';
import { createCommandStore } from './db/commands.js';
import { createCommandRelay } from './fleet/command-relay.js';
import { createRolloutEngine, type RolloutEngine } from './fleet/rollouts.js';
import { watchDb } from './fleet/db-watch.js';
import { enforceRevocations } from './fleet/revocations.js';
import { startPostureSnapshots } from './fleet/posture-thread.js';
import type { Server as HttpsServer } from 'node:https';
import { startAdminReads } from './admin/admin-read-thread.js';
import { createAdminService } from './admin/local.js';
import { createTokenService } from './api/access-tokens.js';
import { createHttpApp } from './api/app.js';
import { createAuthenticator } from './api/auth.js';
import { fleetIdOf } from './api/fleet-id.js';
import { createProofVerifier, type ProofClaim, proofSpentUntilMs } from './api/proof.js';
import { ApiError } from './api/errors.js';
import { apiRoutes } from './api/routes/index.js';
import { createLiveHub } from './api/live.js';
import { createOperatorStore } from './db/operators.js';
import { dashboardDir, loadDashboardAssets } from './http/dashboard-assets.js';
import { bundlePath, DEFAULT_DOWNLOAD_PORT, startDownloadListener } from './http/downloads.js';
import { removeStaleUploads } from './fleet/releases.js';
import { deviceFacingRoutes, type Readiness } from './http/routes.js';
import { createHttpsServer, listenHttps } from './http/server.js';
import { proxyFront } from './limits/proxy-front.js';
import { createHandshakeGuard } from './limits/handshake-guard.js';
import { createPublishLimiter } from './limits/publish-limiter.js';
import { startMqttListener } from './mqtt/broker.js';
import { createUpstreamPresence } from './mqtt/upstream-presence.js';
import { aedesTransport, type DeviceTransport, type UpstreamConfig, upstreamTransport } from './mqtt/transport.js';

export type { UpstreamConfig };
import { createSessions, type Sessions } from './mqtt/sessions.js';
import { createFleetMetrics, type FleetMetrics } from './metrics/fleet-metrics.js';
import { createOutgoingSealer } from './fleet/seal-outgoing.js';
import { createDeviceKeyStore, ensureBackendSealKey } from './fleet/seal-keys.js';
import {
  busEventHandler,
  type ClusterNode,
  type ClusterOptions,
  createRevocationFeed,
  revocationEvents,
  startClusterNode,
} from './cluster/index.js';
import { createStoreCommandRelay } from './fleet/store-command-relay.js';
import { createStoreDevicePlane, type StoreDevicePlane } from './cluster/store-device-plane.js';
import { startPresenceSweep } from './cluster/presence-sweep.js';
import { createStoreConnectionLog } from './cluster/store-connections.js';
import { openPostgresStore } from './store/postgres/store.js';
import { parseStoreUrl } from './store/open-store.js';
import { createSqliteStore } from './store/sqlite-store.js';
import type { FleetStore } from './store/types.js';

export interface FleetServerOptions {
  readonly dataDir: string;
  /** The data folder's storage key when it is encrypted at rest (fleet/at-rest.ts dataFolderKey). */
  readonly storageKey?: StorageKey | undefined;
  readonly config?: FleetConfig;
  readonly host?: string;
  /** 0 picks a free port (tests). */
  readonly mqttPort?: number;
  readonly httpPort?: number;
  /** The mqtts:// address devices should use, told to them at enrolment (defaults to host:mqttPort). */
  readonly publicMqttUrl?: string;
  readonly log?: Logger;
  readonly synchronous?: 'FULL' | 'NORMAL';
  readonly onStored?: (e: StoredEvent) => void;
  /** Repeats of one security event (same kind, device, address, reason) within this window are summarised. */
  readonly auditWindowMs?: number;
  /** Create an empty database where the data folder's was lost (`fleet serve --init-empty-db`). */
  readonly initEmptyDb?: boolean;
  /** A PKCS#11 URI of the Ed25519 key that signs API tokens (`fleet serve --token-key`); default: database keys. */
  readonly tokenKeyUri?: string;
  /** The database failed (damaged, I/O errors): the server logs it and stops by itself; this is told why. */
  readonly onFatal?: (err: FleetError) => void;
  /** Where the dashboard's built files are (default: beside the bundle, or the checkout's dist/dashboard/). */
  readonly dashboardDir?: string;
  /** The device download listener's port (mutual TLS; default 8444, 0 picks a free one). */
  readonly downloadPort?: number;
  /** The https:// address devices download bundles from (defaults to https://HOST:DOWNLOAD-PORT). */
  readonly publicDownloadUrl?: string;
  /** Benchmarks only: ACL and rate limits off, to measure their cost. */
  readonly unprotected?: boolean;
  /**
   * Connect to this broker as a client instead of listening for devices (`fleet serve --upstream`, docs/upstream-
   * broker.md). Sealing is then required whatever the config says: that broker's administrator could inject plain
   * messages.
   */
  readonly upstream?: UpstreamConfig;
  /** How often the rollout engine looks at running rollouts without being told of a change (default 1 s). */
  readonly rolloutTickMs?: number;
  /**
   * Run as one node of a cluster (`fleet serve --cluster`, docs/cluster.md): routing, retained messages and
   * sessions in Redis, revocations and takeovers told to the other nodes over it.
   */
  readonly cluster?: ClusterOptions;
}

export interface FleetServer {
  readonly host: string;
  readonly mqttPort: number;
  readonly httpPort: number;
  readonly downloadPort: number;
  /** Where a device downloads a release's bundle (https://HOST:PORT/v1/releases/{id}/bundle): it goes in offers. */
  downloadUrl(releaseId: string): string;
  readonly config: FleetConfig;
  readonly db: Db;
  readonly registry: Registry;
  readonly audit: AuditLog;
  readonly ingest: Ingest;
  readonly sessions: Sessions;
  readonly metrics: FleetMetrics;
  /** The rollout engine: `tick()` looks at every running rollout now (it also runs on its own). */
  readonly rollouts: Pick<RolloutEngine, 'tick' | 'kick'>;
  /**
   * Publishes as the backend at QoS 1 (commands to devices). authorizePublish does not see it (aedes calls that
   * hook for clients only); authorizeForward still delivers it only to the device whose subtree the topic is.
   */
  publish(topic: string, payload: Buffer): Promise<void>;
  /** The cluster node's id; undefined for a single node. */
  readonly nodeId: string | undefined;
  /** What /readyz reports. */
  readiness(): Readiness;
  close(): Promise<void>;
}

export const DEFAULT_MQTT_PORT = 8883;
/** Shown in the OpenAPI document. */
export const FLEET_SERVER_VERSION = '0.1.0';
export const DEFAULT_HTTP_PORT = 8443;

/**
 * Spends proofs of possession in the cluster's Redis until they can no longer be accepted. Without Redis no node can
 * tell a replay: the exchange is refused (503), never taken twice.
 */
const spendProofIn =
  (bus: ClusterNode['bus']): ProofClaim =>
  (jti, _operatorId, expiresAt) =>
    bus.claimOnce(`proof:${jti}`, proofSpentUntilMs(expiresAt) - Date.now() + 1000).catch(() => {
      throw new ApiError(503, 'API_UNAVAILABLE', 'the cluster cannot check the proof (Redis); retry');
    });

export async function createFleetServer(opts: FleetServerOptions): Promise<FleetServer> {
  const host = opts.host ?? '127.0.0.1';
  const config = opts.config ?? parseFleetConfig({});
  const log = opts.log ?? createLogger({ base: { component: 'fleet' } });
  // The folder's page cipher on the key every connection (and thread) of this server opens the databases with.
  opts = { ...opts, storageKey: withFolderCipher(opts.dataDir, opts.storageKey) };
  // Both refuse a missing or wrong storage key before anything in the folder is created (the lock file included).
  const tls = loadServerTls(opts.dataDir, opts.storageKey);
  const ca = await loadCa(opts.dataDir, opts.storageKey);
  const lock = lockDataDir(opts.dataDir);
  // What was started, newest first: close() and every failure below release all of it, so a server that could
  // not start leaves nothing running (an open thread or timer would keep `fleet serve` alive after its error).
  const cleanups: (() => Promise<void> | void)[] = [() => lock.release()];
  const release = async () => {
    for (const c of cleanups) await c();
  };
  try {
    const db = openFleetDb(opts.dataDir, {
      synchronous: opts.synchronous ?? 'FULL',
      quickCheck: true,
      initEmpty: opts.initEmptyDb ?? false,
      storageKey: opts.storageKey,
    });
    cleanups.unshift(() => void db.close());
    const registry = createRegistry(db);
    // Upstream, devices stay connected to the broker while this server restarts: their last status stands.
    if (!opts.upstream) registry.resetOnline();
    const audit = createAuditLog(db);
    let fatal: FleetError | undefined;
    let stop: (() => Promise<void>) | undefined;
    /** The database cannot be trusted any more: ingest has stopped acknowledging; stop serving, cleanly. */
    const onFatal = (err: FleetError) => {
      if (fatal) return;
      fatal = err;
      log.error('stopping the fleet server: its database failed', { code: err.code, error: err });
      opts.onFatal?.(err);
      void stop?.();
    };
    const writeBehind = createWriteBehind(db, (err) => {
      const failure = dbFailure(err, db.name);
      log.error('bookkeeping write failed', { code: failure?.code ?? 'INTERNAL', error: failure ?? (err as Error) });
      if (stopsTheServer(failure)) onFatal(failure);
    });
    cleanups.unshift(() => writeBehind.flush());
    const connections = createConnectionLog(db, Date.now, writeBehind.run);
    connections.closeAll();
    const sessions = createSessions();
    const presence = opts.upstream ? createUpstreamPresence(registry, writeBehind.run) : undefined;
    const metrics = createFleetMetrics(opts.cluster?.nodeId);
    const fleetId = fleetIdOf(tls.ca);
    if (opts.cluster && opts.upstream)
      throw new FleetError('FLEET_CLUSTER_INVALID', 'a cluster node listens for devices itself: no --upstream');
    let cluster: ClusterNode | undefined;
    if (opts.cluster) {
      cluster = await startClusterNode({ ...opts.cluster, fleetId, log, metrics });
      const node = cluster;
      cleanups.unshift(() => node.close());
    }
    // Cluster on PostgreSQL: the device plane (admission, ingest, online flags, security events, commands) and the
    // update channel (releases and their bundles, trust documents, rollouts, offers, update reports) are in the store
    // every node shares; the rest stays in the data folder (docs/cluster.md, "What is shared and what is not").
    let store: FleetStore | undefined;
    let plane: StoreDevicePlane | undefined;
    // The sessions admitted here: this folder's connection history, or on the shared store every node's.
    let history: ConnectionLog = connections;
    if (opts.cluster?.postgresUrl !== undefined) {
      const target = parseStoreUrl(opts.cluster.postgresUrl);
      if (target.engine !== 'postgres')
        throw new FleetError('FLEET_CLUSTER_INVALID', '--postgres takes a postgres:// or postgresql:// URL');
      // Migrated on open: nodes starting together take turns under the store's advisory lock.
      const shared = await openPostgresStore(target.url);
      store = shared;
      cleanups.unshift(() => shared.close());
      const p = createStoreDevicePlane(shared, log, cluster?.nodeId);
      plane = p;
      cleanups.unshift(() => p.settled());
      if (cluster) {
        // No session is live here yet: the rows this node left open (a crash) are closed at the restart time.
        await shared.connections.closeNodes([cluster.nodeId], Date.now());
        const stored = createStoreConnectionLog({ store: shared, nodeId: cluster.nodeId, log });
        history = stored;
        cleanups.unshift(() => stored.settled());
        const released = metrics.registry.counter(
          'edgeward_cluster_devices_released_total',
          'Devices marked offline because the node holding them stopped (its heartbeat expired)',
        );
        const sweep = startPresenceSweep({
          bus: cluster.bus,
          store: shared,
          nodeId: cluster.nodeId,
          log,
          onReleased: (n) => released.inc({}, n),
        });
        cleanups.unshift(() => sweep.close());
      }
    }
    // The fleet's records as the enrolment, the posture snapshots, the rollout engine and the download listener
    // reach them: the shared store or this folder's.
    const releasesDir = fleetPaths(opts.dataDir).releases;
    const records = store ?? createSqliteStore(db, { releasesDir });
    // Security events of the device plane go where its records are.
    const deviceAudit = plane?.audit ?? audit;
    const auditLimited = createAuditLimiter(deviceAudit, opts.auditWindowMs ?? 10_000);
    cleanups.unshift(() => auditLimited.close());
    // The backend's sealing key, read once: the ingest thread opens with it, commands and offers are sealed with it.
    const backendSealKey = ensureBackendSealKey(fleetPaths(opts.dataDir), opts.storageKey);
    const ingest = createIngest(db, {
      log,
      ...(store
        ? { store }
        : { thread: { file: db.name, synchronous: opts.synchronous ?? 'FULL', storageKey: opts.storageKey } }),
      retention: config.retention,
      // Upstream, the broker between is not trusted: a plain message could be anyone's, so none is taken.
      sealing: { secretKey: backendSealKey.secretKey, mode: opts.upstream ? 'required' : config.sealing },
      onSamples: (_deviceId, inserted) => metrics.samplesStored.inc({}, inserted),
      onStored: (e) => {
        if (e.kind === 'update/status') rollouts.kick();
        // Upstream, the backend does not see devices subscribe: a device saying it is online is the cue to send its
        // open commands and offers (the agent subscribes on the same connect; it drops a command it already ran).
        if (
          presence &&
          e.kind === 'status' &&
          presence.onStatus(e.deviceId, e.message.state, e.message.ts, e.duplicate)
        )
          upstreamPresenceChanged(e.deviceId, e.message.state === 'online');
        opts.onStored?.(e);
      },
      onRejected: (_deviceId, code) => {
        metrics.rejected.inc({ code });
        if (code.startsWith('SEAL_')) metrics.sealRefused.inc({ code });
      },
      onDuplicate: (_deviceId, topic) => metrics.duplicates.inc({ channel: topic.split('/').slice(3).join('/') }),
      onFatal,
    });
    cleanups.unshift(() => ingest.close());
    metrics.registry.gauge('edgeward_connected_devices', 'Devices with a live MQTT session', () => sessions.size);
    metrics.registry.gauge(
      'edgeward_ingest_queue_age_ms',
      'Age of the oldest device message waiting to be stored (ingest lag)',
      () => ingest.stats().oldestQueuedMs,
    );
    metrics.registry.gauge(
      'edgeward_ingest_queued',
      'Device messages waiting for the next commit',
      () => ingest.stats().queued,
    );
    if (opts.upstream && config.sealing === 'optional')
      log.warn('sealing is "optional" in the config but required with an upstream broker: plain messages are refused');
    if (opts.unprotected)
      log.warn('PROTECTIONS OFF: ACL and rate limits are disabled (benchmark mode); never run a fleet like this');

    const upstreamPresenceChanged = (deviceId: string, online: boolean) => {
      if (online) {
        relay.onSubscribed(deviceId);
        rollouts.onSubscribed(deviceId);
      } else {
        relay.onDisconnected(deviceId);
        rollouts.onDisconnected(deviceId);
      }
    };
    let publish: (topic: string, payload: Buffer) => Promise<void> = () =>
      Promise.reject(new Error('not listening yet'));
    // Offers name the download listener, which starts after the engine: bound once it listens.
    let downloadUrlOf = (_releaseId: string): string => {
      throw new Error('the download listener is not listening yet');
    };
    const publicHost = host === '0.0.0.0' || host === '::' ? 'localhost' : host;
    const rollouts = createRolloutEngine({
      store: records.rollouts,
      sessions: presence ? { get: (id: string) => presence.online(id) || undefined } : sessions,
      publish: (t, p) => publish(t, p),
      downloadUrl: (id) => downloadUrlOf(id),
      audit: deviceAudit,
      log,
      ...(opts.rolloutTickMs ? { tickMs: opts.rolloutTickMs } : {}),
    });
    cleanups.unshift(() => rollouts.close());
    // On the shared store commands are relayed from it, when a device subscribes and when one is queued anywhere.
    const sharedRelay =
      store && createStoreCommandRelay({ commands: store.commands, sessions, publish: (t, p) => publish(t, p), log });
    if (sharedRelay) cleanups.unshift(() => sharedRelay.settled());
    const commandQueued = (deviceId: string) => {
      sharedRelay?.onQueued(deviceId);
      cluster?.bus.publish({ kind: 'command.queued', deviceId });
    };
    const localRelay = createCommandRelay({
      commands: createCommandStore(db),
      sessions,
      publish: (t, p) => publish(t, p),
      log,
      // Upstream, a device's presence is not known here: a new command is published at once (the broker delivers
      // it if the device is subscribed; otherwise it goes again when the device next reports online).
      ...(presence ? { reachable: (id: string) => presence.online(id) } : {}),
    });
    const relay = sharedRelay ? { ...sharedRelay, onDbChange: () => {} } : localRelay;
    // One cap on connections still in their TLS handshake, over both ports: each holds a file descriptor.
    const handshakes = createHandshakeGuard({
      limits: {
        maxPerAddress: config.limits.maxPendingHandshakesPerAddress,
        maxTotal: config.limits.maxPendingHandshakes,
      },
      metrics,
      audit: auditLimited,
    });
    // Revoked devices, kept current below: upstream, the broker may not know them.
    let revoked = registry.revokedDeviceIds();
    // Commands and update offers are sealed for the device's newest key (seal-outgoing.ts).
    // On the shared store, to the key the device last used on any node.
    const sealOutgoing = createOutgoingSealer(
      store ? { current: (id) => store.registry.currentSealKey(id) } : createDeviceKeyStore(db),
      backendSealKey,
    );
    const devices = opts.upstream
      ? upstreamTransport(opts.upstream, {
          ingest,
          metrics,
          log,
          isRevoked: (id) => revoked.has(id),
          // What was published while the broker was unreachable may be lost: every online device gets its open
          // commands and offers again.
          onConnected: () => {
            for (const d of registry.list()) if (presence!.online(d.id)) upstreamPresenceChanged(d.id, true);
          },
        })
      : await startMqttListener({
          host,
          port: opts.mqttPort ?? DEFAULT_MQTT_PORT,
          tls,
          handshakes,
          config,
          registry,
          audit: deviceAudit,
          auditLimited,
          connections: history,
          ingest,
          sessions,
          limiter: createPublishLimiter({ maxInflight: config.limits.maxInflightPerDevice }),
          writeBehind,
          metrics,
          log,
          ...(opts.unprotected ? { unprotected: true } : {}),
          ...(plane ? { devicePlane: plane } : {}),
          ...(cluster
            ? {
                shared: cluster.plane,
                onAuthenticated: (deviceId: string) => cluster.bus.publish({ kind: 'session.takeover', deviceId }),
              }
            : {}),
          onSubscribed: (deviceId, topic) => {
            if (topic === deviceTopic(deviceId, 'cmd')) relay.onSubscribed(deviceId);
            if (topic === deviceTopic(deviceId, 'update')) rollouts.onSubscribed(deviceId);
          },
          onDisconnected: (deviceId) => {
            relay.onDisconnected(deviceId);
            rollouts.onDisconnected(deviceId);
          },
        });
    const listener: DeviceTransport = 'aedes' in devices ? aedesTransport(devices) : devices;
    cleanups.unshift(() => listener.close());
    publish = async (topic, unsealed) => listener.publish(topic, await sealOutgoing(topic, unsealed));
    // Changes other processes commit (the CLI revoking a device, queuing a command) take effect at once.
    const watch = watchDb(db);
    const revocations = enforceRevocations({ registry, sessions, audit, log });
    watch.on(() => revocations());
    // Operators, their dashboard sessions and the API token keys' public halves: the shared store's on a cluster on
    // PostgreSQL (every node authenticates by them), else this folder's. Read on every request, uncached.
    const operators = records.operators;
    const dashboardSessions = records.dashboardSessions;
    const live = createLiveHub({ db, operators, sessions: dashboardSessions, connections: () => sessions.size });
    cleanups.unshift(() => live.close());
    // Cluster: what this node sees revoked (through its API, or the CLI on its folder) is told to the others.
    const feed = cluster
      ? createRevocationFeed({
          registry,
          ...(store ? {} : { operators: createOperatorStore(db) }),
          publish: (e) => cluster.bus.publish(e),
        })
      : () => {};
    watch.on(feed);
    cluster?.bus.on(
      busEventHandler({
        revocations,
        sessions,
        audit: deviceAudit,
        metrics,
        log,
        onOperatorRevoked: (name) => live.revoked(name),
        ...(plane ? { onTakenOver: (id: string) => plane.handedOver(id) } : {}),
        ...(sharedRelay ? { onCommandQueued: (id: string) => sharedRelay.onQueued(id) } : {}),
      }),
    );
    watch.on(() => (revoked = registry.revokedDeviceIds()));
    watch.on(() => relay.onDbChange());
    watch.on(() => rollouts.kick());
    cleanups.unshift(() => watch.close());
    // Daily and hourly posture snapshots for `fleet posture --since` and the dashboard (db/posture-snapshots.ts).
    // On the shared store the reports are PostgreSQL's: every node looks there, and computes in-process.
    const posture = startPostureSnapshots({
      posture: records.posture,
      ...(store ? {} : { thread: { file: db.name, storageKey: opts.storageKey } }),
      log,
    });
    cleanups.unshift(() => posture.close());
    const enrollment = createEnrollment({
      records,
      audit: deviceAudit,
      ca,
      config,
      log,
      metrics,
    });
    const mqttUrl = () =>
      opts.publicMqttUrl ??
      opts.upstream?.url ??
      `mqtts://${host === '0.0.0.0' || host === '::' ? 'localhost' : host}:${listener.port}`;
    const tokens = createTokenService({
      db,
      issuer: fleetId,
      ...(opts.tokenKeyUri !== undefined ? { signer: tokenSignerFromUri(opts.tokenKeyUri) } : {}),
      // A token this node signs verifies on every other: the public half of its key is published in the store.
      ...(store ? { shared: store.tokenKeys } : {}),
    });
    // Started on the first read; closed after the HTTPS server (cleanups run newest first). On the shared store the
    // lists are PostgreSQL queries, which do not hold the event loop: no thread.
    const reads = store ? undefined : startAdminReads({ file: db.name, log, storageKey: opts.storageKey });
    if (reads) cleanups.unshift(() => reads.close());
    const routeDeps = {
      // The API's changes are this connection's own, which data_version does not show: act on them at once.
      admin: createAdminService({
        db,
        loadCa: async () => ca,
        config,
        releasesDir,
        ...(store
          ? {
              store,
              onCommandQueued: commandQueued,
              // Revoked in the shared store: sessions here are dropped now, the other nodes' by the bus event.
              onRevoked: (r: { deviceIds?: readonly string[]; serials?: readonly string[] }) => {
                revocations(r);
                for (const e of revocationEvents(r)) cluster?.bus.publish(e);
              },
              // Its tokens and sessions are refused by every node's next check of the store; its live streams
              // close here now and on the others at the bus event.
              onOperatorRevoked: (name: string) => {
                live.revoked(name);
                cluster?.bus.publish({ kind: 'operator.revoked', name });
              },
            }
          : {}),
        onChange: () => {
          revocations();
          feed();
          revoked = registry.revokedDeviceIds();
          relay.onDbChange();
          rollouts.kick();
        },
      }),
      ...(reads ? { reads } : {}),
      operators,
      tokens,
      verifyProof: createProofVerifier({
        db,
        operators,
        audience: fleetId,
        // A cluster's nodes spend proofs in Redis: one used on any node is a replay on every other.
        ...(cluster ? { claim: spendProofIn(cluster.bus) } : {}),
      }),
      maxBundleBytes: config.releases.maxBundleBytes,
    };
    let https: HttpsServer | undefined;
    // Set once every listener is up, cleared when close() begins.
    let listening = false;
    const readiness = (): Readiness => ({
      listeners: listening,
      // A database that failed stops the server; until it has, it is not one to send devices to.
      database: fatal === undefined && db.open && !db.readonly,
      ...(cluster ? { redis: cluster.ready() } : {}),
    });
    const app = await createHttpApp({
      log,
      metrics,
      events: auditLimited,
      operatorAudit: records.operatorAudit,
      authenticate: createAuthenticator({ tokens, operators, sessions: dashboardSessions }),
      version: FLEET_SERVER_VERSION,
      limits: config.api,
      serverFactory: (handler) =>
        (https = createHttpsServer(
          {
            tls,
            timeouts: {
              headersTimeoutMs: config.api.headersTimeoutSeconds * 1000,
              requestTimeoutMs: config.api.requestTimeoutSeconds * 1000,
            },
            handshakeTimeoutMs: config.limits.connectTimeoutSeconds * 1000,
            handshakes,
          },
          handler,
        )),
      routes: (a) => {
        deviceFacingRoutes(a, { sessions, metrics, enrollment, mqttUrl, readiness });
        apiRoutes(a, routeDeps, {
          sessions: dashboardSessions,
          live,
          connections: () => sessions.size,
          events: auditLimited,
          metrics,
          assets: loadDashboardAssets(opts.dashboardDir ?? dashboardDir()),
        });
      },
    });
    const httpsServer = https!;
    // Behind a balancer sending the PROXY protocol, operators' and enrolling devices' own addresses (the API's and
    // enrolment's per-address limits, the operator audit) come from its header.
    const front = proxyFront(httpsServer, 'https', { config, metrics, audit: auditLimited, log });
    cleanups.unshift(async () => {
      const closed = new Promise<void>((resolve) => (front ?? httpsServer).close(() => resolve()));
      httpsServer.closeAllConnections();
      handshakes.closePending('https');
      await closed;
      await app.close();
    });
    const { port: httpPort } = await listenHttps(
      httpsServer,
      front,
      { host, port: opts.httpPort ?? DEFAULT_HTTP_PORT },
      log,
    );
    const http = { port: httpPort };
    const stale = removeStaleUploads(releasesDir);
    if (stale > 0) log.warn('removed unfinished release uploads', { count: stale });
    const downloads = await startDownloadListener({
      host,
      port: opts.downloadPort ?? DEFAULT_DOWNLOAD_PORT,
      tls,
      timeouts: {
        headersTimeoutMs: config.api.headersTimeoutSeconds * 1000,
        requestTimeoutMs: config.api.requestTimeoutSeconds * 1000,
      },
      handshakeTimeoutMs: config.limits.connectTimeoutSeconds * 1000,
      handshakes,
      records,
      releasesDir,
      events: auditLimited,
      metrics,
      log,
    });
    cleanups.unshift(() => downloads.close());
    const downloadBase = (opts.publicDownloadUrl ?? `https://${publicHost}:${downloads.port}`).replace(/\/+$/, '');
    downloadUrlOf = (releaseId) => `${downloadBase}${bundlePath(releaseId)}`;
    log.info('fleet server listening', {
      mqtt: opts.upstream ? `client of ${opts.upstream.url}` : `mqtts://${host}:${listener.port}`,
      https: `https://${host}:${http.port}`,
      downloads: `https://${host}:${downloads.port}`,
      data: opts.dataDir,
      ...(config.proxyProtocol.trustedProxies.length > 0
        ? { proxyProtocolFrom: config.proxyProtocol.trustedProxies }
        : {}),
    });

    let closing: Promise<void> | undefined;
    const close = () => {
      listening = false;
      closing ??= (async () => {
        await release();
        log.info('fleet server stopped');
      })();
      return closing;
    };
    stop = close;
    listening = true;
    if (fatal) void close();
    return {
      host,
      mqttPort: listener.port,
      httpPort: http.port,
      downloadPort: downloads.port,
      downloadUrl: (releaseId) => downloadUrlOf(releaseId),
      config,
      db,
      registry,
      audit,
      ingest,
      sessions,
      metrics,
      rollouts: { tick: () => rollouts.tick(), kick: () => rollouts.kick() },
      publish: (topic, payload) => publish(topic, payload),
      nodeId: cluster?.nodeId,
      readiness,
      close,
    };
  } catch (err) {
    await release();
    throw err;
  }
}
