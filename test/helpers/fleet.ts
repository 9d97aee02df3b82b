// A real fleet for tests: a data folder with PKI and devices, and a fleet server on free loopback ports.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import {
  BACKEND_KEY_FILE,
  createLogger,
  isSealedEnvelope,
  openEnvelope,
  parseEnvelope,
  parseSealPublicKeyPem,
  parseSealSecretKeyPem,
  sealMessage,
  SEAL_KEY_FILE,
  sealChannel,
  silentLogger,
  tryParseTopic,
  type Logger,
  type SealChannel,
  type StorageKey,
} from '../../shared/src/index.js';
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
   * broker at `url`; `options` adds to or overrides MQTT.js's options. What the client publishes on the device's
   * own topics is sealed with the device's key, and what it gets sealed on its cmd and update topics is opened
   * before its 'message' listeners see it, as the agent does, unless `plain` is set.
   */
  connect(id: string, options?: IClientOptions & { url?: string; plain?: boolean }): Promise<MqttClient>;
  /** The device's sealing channel to the backend (its seal.key and backend-seal.pub). */
  sealChannel(id: string): SealChannel;
  /** Opens, as the backend does, what device `id` sealed for `topic` (what a test watched on the wire). */
  openFromDevice(id: string, topic: string, payload: Uint8Array): Buffer;
  agentConfig(id: string, overrides?: Record<string, unknown>): AgentConfig;
  start(opts?: Partial<FleetServerOptions>): Promise<FleetServer>;
  readonly server: FleetServer;
  url(): string;
  close(): Promise<void>;
}

export function testLogger(): Logger {
  return process.env.TEST_LOG ? createLogger({ format: 'pretty', level: 'debug' }) : silentLogger;
}

/** A fleet server for tests on its data folder: loopback, ports the kernel picks, quiet, SQLite NORMAL. */
export function startTestServer(
  opts: Partial<FleetServerOptions> & { readonly dataDir: string },
): Promise<FleetServer> {
  return createFleetServer({
    host: '127.0.0.1',
    mqttPort: 0,
    httpPort: 0,
    downloadPort: 0,
    log: testLogger(),
    synchronous: 'NORMAL',
    ...opts,
  });
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
    async connect(id, { url, plain = false, ...options } = {}) {
      const client = await mqtt.connectAsync(url ?? fleet.url(), {
        clientId: id,
        ...fleet.credentials(id),
        protocolVersion: 4,
        reconnectPeriod: 0,
        ...options,
      });
      if (!plain) sealPublishes(client, id, fleet.sealChannel(id));
      return client;
    },
    openFromDevice(id, topic, payload) {
      const backend = parseSealSecretKeyPem(readFileSync(join(dataDir, 'pki', 'seal.key')));
      const device = parseSealSecretKeyPem(readFileSync(join(deviceDir(id), SEAL_KEY_FILE)));
      return Buffer.from(openEnvelope(sealChannel(backend, device.publicKey), parseEnvelope(payload), topic));
    },
    sealChannel: (id) =>
      sealChannel(
        parseSealSecretKeyPem(readFileSync(join(deviceDir(id), SEAL_KEY_FILE))),
        parseSealPublicKeyPem(readFileSync(join(deviceDir(id), BACKEND_KEY_FILE))),
      ),
    agentConfig(id, overrides = {}) {
      const d = deviceDir(id);
      return parseAgentConfig({
        server: 'server' in overrides ? overrides.server : fleet.url(),
        deviceId: id,
        cert: join(d, 'device.crt'),
        key: join(d, 'device.key'),
        ca: join(d, 'ca.crt'),
        seal: { key: join(d, SEAL_KEY_FILE), backendKey: join(d, BACKEND_KEY_FILE) },
        stateDir: join(d, 'state'),
        telemetryIntervalSeconds: 1,
        reconnect: { minSeconds: 0.1, maxSeconds: 1 },
        ...overrides,
      });
    },
    async start(opts = {}) {
      server = await startTestServer({ dataDir, ...(storageKey ? { storageKey } : {}), ...opts });
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

/**
 * Seals what `client` publishes on device `id`'s own publish topics (a payload that is already sealed, or is not
 * bytes, goes as it is), and opens what arrives sealed on its cmd and update topics, so that tests written for
 * plain CBOR speak the sealed protocol the server requires.
 */
export function sealPublishes(client: MqttClient, id: string, channel: SealChannel): void {
  const emit = client.emit.bind(client) as (...args: unknown[]) => boolean;
  (client as { emit: unknown }).emit = (event: string, topic: unknown, payload: unknown, ...rest: unknown[]) => {
    if (
      event === 'message' &&
      typeof topic === 'string' &&
      payload instanceof Uint8Array &&
      isSealedEnvelope(payload)
    ) {
      const parsed = tryParseTopic(topic);
      if (parsed?.deviceId === id && (parsed.channel === 'cmd' || parsed.channel === 'update'))
        payload = Buffer.from(openEnvelope(channel, parseEnvelope(payload), topic));
    }
    return emit(event, topic, payload, ...rest);
  };
  const publish = client.publish.bind(client) as (...args: unknown[]) => MqttClient;
  (client as { publish: unknown }).publish = (topic: string, message: unknown, ...rest: unknown[]) => {
    const parsed = tryParseTopic(topic);
    const own = parsed?.deviceId === id && parsed.channel !== 'cmd' && parsed.channel !== 'update';
    const bytes = typeof message === 'string' ? Buffer.from(message) : message;
    const sealed =
      own && bytes instanceof Uint8Array && !isSealedEnvelope(bytes) ? sealMessage(channel, topic, bytes) : message;
    return publish(topic, sealed, ...rest);
  };
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
