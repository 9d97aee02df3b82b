// createFleetServer: the composition of database, registry, ingest, MQTT listener and HTTPS server.
import { createLogger, deviceTopic, type Logger } from '../../shared/src/index.js';
import { parseFleetConfig, type FleetConfig } from './config.js';
import { createAuditLimiter, createAuditLog, type AuditLog } from './db/audit.js';
import { createConnectionLog } from './db/connections.js';
import { createWriteBehind } from './db/write-behind.js';
import { dbFailure, stopsTheServer } from './db/failure.js';
import type { FleetError } from './errors.js';
import type { Db } from './db/open.js';
import { createRegistry, type Registry } from './db/registry.js';
import { loadCa, loadServerTls, lockDataDir, openFleetDb } from './fleet/data-dir.js';
import { createEnrollment } from './fleet/enrollment.js';
import { createIngest, type Ingest, type StoredEvent } from './fleet/ingest.js';
import { createCommandStore } from './db/commands.js';
import { createCommandRelay } from './fleet/command-relay.js';
import { watchDb } from './fleet/db-watch.js';
import { enforceRevocations } from './fleet/revocations.js';
import { createHttpRoutes } from './http/routes.js';
import { startHttpServer } from './http/server.js';
import { createPublishLimiter } from './limits/publish-limiter.js';
import { startMqttListener, type MqttListener } from './mqtt/broker.js';
import { createSessions, type Sessions } from './mqtt/sessions.js';
import { createFleetMetrics, type FleetMetrics } from './metrics/fleet-metrics.js';

export interface FleetServerOptions {
  readonly dataDir: string;
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
  /** Benchmarks only: ACL and rate limits off, to measure their cost. */
  readonly unprotected?: boolean;
  /** Create an empty database where the data folder's was lost (`fleet serve --init-empty-db`). */
  readonly initEmptyDb?: boolean;
  /** The database failed (damaged, I/O errors): the server logs it and stops by itself; this is told why. */
  readonly onFatal?: (err: FleetError) => void;
}

export interface FleetServer {
  readonly host: string;
  readonly mqttPort: number;
  readonly httpPort: number;
  readonly config: FleetConfig;
  readonly db: Db;
  readonly registry: Registry;
  readonly audit: AuditLog;
  readonly ingest: Ingest;
  readonly sessions: Sessions;
  readonly metrics: FleetMetrics;
  /** Publishes as the backend at QoS 1 (commands and update offers to devices); the ACL still applies. */
  publish(topic: string, payload: Buffer): Promise<void>;
  close(): Promise<void>;
}

export const DEFAULT_MQTT_PORT = 8883;
export const DEFAULT_HTTP_PORT = 8443;

export async function createFleetServer(opts: FleetServerOptions): Promise<FleetServer> {
  const host = opts.host ?? '127.0.0.1';
  const config = opts.config ?? parseFleetConfig({});
  const log = opts.log ?? createLogger({ base: { component: 'fleet' } });
  const tls = loadServerTls(opts.dataDir);
  const ca = await loadCa(opts.dataDir);
  const lock = lockDataDir(opts.dataDir);
  let db: Db;
  try {
    db = openFleetDb(opts.dataDir, {
      synchronous: opts.synchronous ?? 'FULL',
      quickCheck: true,
      initEmpty: opts.initEmptyDb ?? false,
    });
  } catch (err) {
    lock.release();
    throw err;
  }
  const registry = createRegistry(db);
  registry.resetOnline();
  const audit = createAuditLog(db);
  const auditLimited = createAuditLimiter(audit, opts.auditWindowMs ?? 10_000);
  let stop: (() => Promise<void>) | undefined;
  let fatal: FleetError | undefined;
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
  const connections = createConnectionLog(db, Date.now, writeBehind.run);
  connections.closeAll();
  const sessions = createSessions();
  const metrics = createFleetMetrics();
  const ingest = createIngest(db, {
    log,
    thread: { file: db.name, synchronous: opts.synchronous ?? 'FULL' },
    retention: config.retention,
    onSamples: (_deviceId, inserted) => metrics.samplesStored.inc({}, inserted),
    ...(opts.onStored ? { onStored: opts.onStored } : {}),
    onRejected: (_deviceId, code) => metrics.rejected.inc({ code }),
    onFatal,
  });
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
  if (opts.unprotected)
    log.warn('PROTECTIONS OFF: ACL and rate limits are disabled (benchmark mode); never run a fleet like this');

  const cleanups: (() => Promise<void> | void)[] = [
    () => writeBehind.flush(),
    () => void db.close(),
    () => lock.release(),
  ];
  let publish: (topic: string, payload: Buffer) => Promise<void> = () => Promise.reject(new Error('not listening yet'));
  const relay = createCommandRelay({
    commands: createCommandStore(db),
    sessions,
    publish: (t, p) => publish(t, p),
    log,
  });
  try {
    const mqtt: MqttListener = await startMqttListener({
      host,
      port: opts.mqttPort ?? DEFAULT_MQTT_PORT,
      tls,
      config,
      registry,
      audit,
      auditLimited,
      connections,
      ingest,
      sessions,
      limiter: createPublishLimiter({ maxInflight: config.limits.maxInflightPerDevice }),
      writeBehind,
      metrics,
      log,
      ...(opts.unprotected ? { unprotected: true } : {}),
      onSubscribed: (deviceId, topic) => {
        if (topic === deviceTopic(deviceId, 'cmd')) relay.onSubscribed(deviceId);
      },
      onDisconnected: (deviceId) => relay.onDisconnected(deviceId),
    });
    const listener = mqtt;
    publish = (topic, payload) =>
      new Promise<void>((resolve, reject) => {
        listener.aedes.publish({ cmd: 'publish', topic, payload, qos: 1, dup: false, retain: false }, (err?: Error) =>
          err ? reject(err) : resolve(),
        );
      });
    cleanups.unshift(
      () => listener.close(),
      () => ingest.close(),
      () => auditLimited.close(),
    );
    // Changes other processes commit (the CLI revoking a device, queuing a command) take effect at once.
    const watch = watchDb(db);
    watch.on(enforceRevocations({ registry, sessions, audit, log }));
    watch.on(() => relay.onDbChange());
    cleanups.unshift(() => watch.close());
    const enrollment = createEnrollment({ db, registry, audit, ca, config, log, metrics });
    const http = await startHttpServer({
      host,
      port: opts.httpPort ?? DEFAULT_HTTP_PORT,
      tls,
      log,
      routes: createHttpRoutes({
        sessions,
        metrics,
        enrollment,
        mqttUrl: () =>
          opts.publicMqttUrl ?? `mqtts://${host === '0.0.0.0' || host === '::' ? 'localhost' : host}:${listener.port}`,
      }),
    });
    cleanups.unshift(() => http.close());
    log.info('fleet server listening', {
      mqtt: `mqtts://${host}:${listener.port}`,
      https: `https://${host}:${http.port}`,
      data: opts.dataDir,
    });

    let closing: Promise<void> | undefined;
    const close = () => {
      closing ??= (async () => {
        for (const c of cleanups) await c();
        log.info('fleet server stopped');
      })();
      return closing;
    };
    stop = close;
    if (fatal) void close();
    return {
      host,
      mqttPort: listener.port,
      httpPort: http.port,
      config,
      db,
      registry,
      audit,
      ingest,
      sessions,
      metrics,
      publish: (topic, payload) => publish(topic, payload),
      close,
    };
  } catch (err) {
    for (const c of cleanups) await c();
    throw err;
  }
}
