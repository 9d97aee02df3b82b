// createFleetServer: the composition of database, registry, ingest, MQTT listener and HTTPS server.
import { createLogger, type Logger } from '../../shared/src/index.js';
import { createAuditLog, type AuditLog } from './db/audit.js';
import type { Db } from './db/open.js';
import { createRegistry, type Registry } from './db/registry.js';
import { loadServerTls, openFleetDb } from './fleet/data-dir.js';
import { createIngest, type Ingest, type StoredEvent } from './fleet/ingest.js';
import { watchRevocations } from './fleet/revocation-watch.js';
import { sendJson, startHttpServer } from './http/server.js';
import { startMqttListener } from './mqtt/broker.js';
import { createSessions, type Sessions } from './mqtt/sessions.js';

export interface FleetServerOptions {
  readonly dataDir: string;
  readonly host?: string;
  /** 0 picks a free port (tests). */
  readonly mqttPort?: number;
  readonly httpPort?: number;
  readonly log?: Logger;
  readonly synchronous?: 'FULL' | 'NORMAL';
  readonly onStored?: (e: StoredEvent) => void;
}

export interface FleetServer {
  readonly host: string;
  readonly mqttPort: number;
  readonly httpPort: number;
  readonly db: Db;
  readonly registry: Registry;
  readonly audit: AuditLog;
  readonly ingest: Ingest;
  readonly sessions: Sessions;
  /** Publishes as the backend (commands and update offers to devices); the ACL still applies. */
  publish(topic: string, payload: Buffer, opts?: { qos?: 0 | 1 }): Promise<void>;
  close(): Promise<void>;
}

export const DEFAULT_MQTT_PORT = 8883;
export const DEFAULT_HTTP_PORT = 8443;

export async function createFleetServer(opts: FleetServerOptions): Promise<FleetServer> {
  const host = opts.host ?? '127.0.0.1';
  const log = opts.log ?? createLogger({ base: { component: 'fleet' } });
  const tls = loadServerTls(opts.dataDir);
  const db = openFleetDb(opts.dataDir, { synchronous: opts.synchronous ?? 'FULL' });
  const registry = createRegistry(db);
  registry.resetOnline();
  const audit = createAuditLog(db);
  const sessions = createSessions();
  const ingest = createIngest(db, { log, ...(opts.onStored ? { onStored: opts.onStored } : {}) });

  const cleanups: (() => Promise<void> | void)[] = [() => void db.close()];
  try {
    const mqtt = await startMqttListener({ host, port: opts.mqttPort ?? DEFAULT_MQTT_PORT, tls, registry, audit, ingest, sessions, log });
    cleanups.unshift(() => mqtt.close(), () => ingest.close());
    const watch = watchRevocations({ db, registry, sessions, audit, log });
    cleanups.unshift(() => watch.close());
    const http = await startHttpServer({
      host,
      port: opts.httpPort ?? DEFAULT_HTTP_PORT,
      tls,
      log,
      routes: {
        'GET /healthz': (_req, res) => sendJson(res, 200, { status: 'ok', connected: sessions.size }),
      },
    });
    cleanups.unshift(() => http.close());
    log.info('fleet server listening', { mqtt: `mqtts://${host}:${mqtt.port}`, https: `https://${host}:${http.port}`, data: opts.dataDir });

    let closing: Promise<void> | undefined;
    return {
      host,
      mqttPort: mqtt.port,
      httpPort: http.port,
      db,
      registry,
      audit,
      ingest,
      sessions,
      publish(topic, payload, publishOpts = {}) {
        return new Promise<void>((resolve, reject) => {
          mqtt.aedes.publish({ cmd: 'publish', topic, payload, qos: publishOpts.qos ?? 1, dup: false, retain: false }, (err?: Error) => (err ? reject(err) : resolve()));
        });
      },
      close() {
        closing ??= (async () => {
          for (const c of cleanups) await c();
          log.info('fleet server stopped');
        })();
        return closing;
      },
    };
  } catch (err) {
    for (const c of cleanups) await c();
    throw err;
  }
}
