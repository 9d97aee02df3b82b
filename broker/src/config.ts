// Fleet server configuration: optional JSON file, validated once with every problem listed, then frozen.
import { readFileSync } from 'node:fs';
import { schema as s, type schema } from '../../shared/src/index.js';
import { FleetError } from './errors.js';

const rateSchema = s.object({
  /** Sustained publishes per second per device. */
  messagesPerSecond: s.num({ min: 0.01, max: 100_000 }),
  /** Publishes a device may send at once before throttling starts. */
  burstMessages: s.int({ min: 1, max: 1_000_000 }),
  bytesPerSecond: s.num({ min: 1, max: 1_000_000_000 }),
  burstBytes: s.int({ min: 1, max: 1_000_000_000 }),
  /** A device whose backlog of throttled publishes exceeds this many seconds is disconnected. */
  disconnectAfterSeconds: s.num({ min: 0.1, max: 3600 }),
});

export type RateLimit = schema.Infer<typeof rateSchema>;

export const DEFAULT_RATE: RateLimit = Object.freeze({
  messagesPerSecond: 50,
  burstMessages: 200,
  bytesPerSecond: 256 * 1024,
  burstBytes: 1024 * 1024,
  disconnectAfterSeconds: 5,
});

const limitsSchema = s.object({
  /**
   * Largest MQTT packet accepted (the biggest message, an exposure report, is 256 KiB); a bigger one closes the
   * connection before it is buffered.
   */
  maxPacketBytes: s.withDefault(s.int({ min: 1024, max: 16 * 1024 * 1024 }), 300 * 1024),
  /** Publishes from one device waiting for their PUBACK (throttled or being stored). */
  maxInflightPerDevice: s.withDefault(s.int({ min: 1, max: 100_000 }), 200),
  /** Packets aedes buffers for a client before its CONNECT is processed. */
  queueLimit: s.withDefault(s.int({ min: 1, max: 100_000 }), 42),
  /** New TCP connections per source address: sustained per minute, and burst. */
  connectionsPerMinutePerAddress: s.withDefault(s.num({ min: 1, max: 10_000_000 }), 600),
  connectionBurstPerAddress: s.withDefault(s.int({ min: 1, max: 10_000_000 }), 200),
  /** Seconds a client has to complete its TLS handshake and CONNECT. */
  connectTimeoutSeconds: s.withDefault(s.num({ min: 1, max: 300 }), 10),
});

const configSchema = s.object({
  limits: s.withDefault(limitsSchema, {}),
  /** Rate limits per device type; devices of an unlisted type get "default". */
  deviceTypes: s.withDefault(s.record(/^[a-z0-9][a-z0-9-]{0,31}$/, rateSchema, { maxKeys: 64 }), {}),
  enrollment: s.withDefault(
    s.object({
      /** Failed enrolment attempts per source address per minute before it gets 429. */
      failuresPerMinutePerAddress: s.withDefault(s.int({ min: 1, max: 10_000 }), 5),
      deviceValidityDays: s.withDefault(s.int({ min: 1, max: 3650 }), 365),
    }),
    {},
  ),
  audit: s.withDefault(
    s.object({
      expiringWithinDays: s.withDefault(s.int({ min: 1, max: 3650 }), 30),
      caExpiringWithinDays: s.withDefault(s.int({ min: 1, max: 3650 }), 180),
      notSeenForDays: s.withDefault(s.num({ min: 0, max: 3650 }), 7),
      minExposureScore: s.withDefault(s.int({ min: 0, max: 100 }), 70),
    }),
    {},
  ),
  /** What the fleet server deletes as it ages (docs/fleet-config.md#retention); null keeps everything of a kind. */
  retention: s.withDefault(
    s.object({
      /** Days a telemetry sample is kept after it was received, in every stream. */
      telemetryDays: s.withDefault(s.nullable(s.num({ min: 0.01, max: 36_500 })), 90),
      /** Exposure reports kept per device, the newest. */
      reportsPerDevice: s.withDefault(s.nullable(s.int({ min: 1, max: 100_000 })), 100),
    }),
    {},
  ),
});

export type FleetConfig = schema.Infer<typeof configSchema> & { deviceTypes: Record<string, RateLimit> };

function deepFreeze<T>(v: T): T {
  if (v && typeof v === 'object') {
    for (const x of Object.values(v)) deepFreeze(x);
    Object.freeze(v);
  }
  return v;
}

/**
 * Validates a config object (missing sections get their defaults); throws FLEET_CONFIG_INVALID listing every problem.
 */
export function parseFleetConfig(raw: unknown = {}): FleetConfig {
  const result = s.validate(configSchema, raw);
  if (!result.ok) {
    throw new FleetError('FLEET_CONFIG_INVALID', s.listIssues('fleet server configuration', result.issues), {
      details: { issues: result.issues },
    });
  }
  const config = result.value as FleetConfig;
  config.deviceTypes = { default: DEFAULT_RATE, ...config.deviceTypes };
  return deepFreeze(config);
}

export function loadFleetConfig(file: string | undefined): FleetConfig {
  if (!file) return parseFleetConfig({});
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new FleetError('FLEET_CONFIG_INVALID', `cannot read config ${file}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return parseFleetConfig(raw);
}

export function rateFor(config: FleetConfig, deviceType: string): RateLimit {
  return config.deviceTypes[deviceType] ?? config.deviceTypes.default ?? DEFAULT_RATE;
}
