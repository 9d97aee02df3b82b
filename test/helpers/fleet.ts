// A real fleet for tests: a data folder with PKI and devices, and a fleet server on free loopback ports.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { silentLogger, createLogger, type Logger, type StorageKey } from '../../shared/src/index.js';
import { createRegistry } from '../../broker/src/db/registry.js';
import type { Db } from '../../broker/src/db/open.js';
import { initPki, loadCa, openFleetDb } from '../../broker/src/fleet/data-dir.js';
import { provisionDevice } from '../../broker/src/fleet/provision.js';
import { createFleetServer, type FleetServer, type FleetServerOptions } from '../../broker/src/server.js';
import { parseAgentConfig, type AgentConfig } from '../../agent/src/index.js';
import { tmpDir } from './tmp.js';

export interface TestFleet {
  readonly dataDir: string;
  /** The test's own connection to the fleet database (stays open across server restarts). */
  readonly db: Db;
  deviceDir(id: string): string;
  /** Issues and registers a device; returns its folder with device.key, device.crt and ca.crt. */
  addDevice(id: string, opts?: { deviceType?: string }): Promise<string>;
  credentials(id: string): { key: Buffer; cert: Buffer; ca: Buffer };
  /**
   * Connects as device `id` with its certificate (MQTT 3.1.1, no reconnects), to this fleet's server or to the
   * broker at `url`; `options` adds to or overrides MQTT.js's options.
   */
  connect(id: string, options?: IClientOptions & { url?: string }): Promise<MqttClient>;
  agentConfig(id: string, overrides?: Record<string, unknown>): AgentConfig;
  start(opts?: Partial<FleetServerOptions>): Promise<FleetServer>;
  readonly server: FleetServer;
  url(): string;
  close(): Promise<void>;
}

export function testLogger(): Logger {
  return process.env.TEST_LOG ? createLogger({ format: 'pretty', level: 'debug' }) : silentLogger;
}

export interface TestFleetOptions {
  /** Encrypt the data folder at rest under this key (fleet pki init --encrypt-at-rest). */
  readonly storageKey?: StorageKey;
}

export async function createTestFleet(devices: string[] = [], opts: TestFleetOptions = {}): Promise<TestFleet> {
  const root = tmpDir('edgeward-fleet-');
  const dataDir = join(root, 'data');
  const { storageKey } = opts;
  await initPki(dataDir, storageKey ? { storageKey } : {});
  const db = openFleetDb(dataDir, { storageKey });
  const registry = createRegistry(db);
  const ca = await loadCa(dataDir, storageKey);
  const deviceDir = (id: string) => join(root, 'devices', id);
  const addDevice = async (id: string, opts: { deviceType?: string } = {}) => {
    await provisionDevice(registry, ca, id, deviceDir(id), opts.deviceType ? { deviceType: opts.deviceType } : {});
    return deviceDir(id);
  };
  for (const id of devices) await addDevice(id);
  let server: FleetServer | undefined;

  const fleet: TestFleet = {
    dataDir,
    db,
    deviceDir,
    addDevice,
    credentials: (id) => ({
      key: readFileSync(join(deviceDir(id), 'device.key')),
      cert: readFileSync(join(deviceDir(id), 'device.crt')),
      ca: readFileSync(join(deviceDir(id), 'ca.crt')),
    }),
    connect: (id, { url, ...options } = {}) =>
      mqtt.connectAsync(url ?? fleet.url(), {
        clientId: id,
        ...fleet.credentials(id),
        protocolVersion: 4,
        reconnectPeriod: 0,
        ...options,
      }),
    agentConfig(id, overrides = {}) {
      const d = deviceDir(id);
      return parseAgentConfig({
        server: 'server' in overrides ? overrides.server : fleet.url(),
        deviceId: id,
        cert: join(d, 'device.crt'),
        key: join(d, 'device.key'),
        ca: join(d, 'ca.crt'),
        stateDir: join(d, 'state'),
        telemetryIntervalSeconds: 1,
        reconnect: { minSeconds: 0.1, maxSeconds: 1 },
        ...overrides,
      });
    },
    async start(opts = {}) {
      server = await createFleetServer({
        dataDir,
        host: '127.0.0.1',
        mqttPort: 0,
        httpPort: 0,
        downloadPort: 0,
        log: testLogger(),
        synchronous: 'NORMAL',
        ...(storageKey ? { storageKey } : {}),
        ...opts,
      });
      return server;
    },
    get server() {
      if (!server) throw new Error('fleet server not started');
      return server;
    },
    url: () => `mqtts://127.0.0.1:${fleet.server.mqttPort}`,
    async close() {
      await server?.close();
      server = undefined;
      if (db.open) db.close();
    },
  };
  return fleet;
}

/** Polls `fn` until it returns a truthy value (or throws after `timeoutMs`). */
export async function waitFor<T>(
  fn: () => T | Promise<T>,
  what: string,
  timeoutMs = 10_000,
  everyMs = 25,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
