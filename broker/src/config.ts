// Fleet server configuration: optional JSON file, validated once with every problem listed, then frozen.
import { readRegularText, schema as s, type schema } from '../../shared/src/index.js';
import { FleetError } from './errors.js';
import { parseAddressOrSubnet } from './net/proxied-listener.js';

export const DEFAULT_DEVICE_VALIDITY_DAYS = 365;
/** A device certificate lives at most 10 years: the CLI, the operator API and the enrolment config agree. */
export const MAX_DEVICE_VALIDITY_DAYS = 3650;

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
  /**
   * Seconds a client has to complete its TLS handshake (MQTT and HTTPS port) and to send CONNECT; a socket that
   * does not is closed. 30, as the agent waits: a server taking back a whole fleet at once (a restart, a cluster
   * node's devices after it failed) answers each device later than one alone, and a handshake cut off half-done
   * is CPU spent for nothing and a device coming back later. Half-open floods are bounded by the caps below.
   */
  connectTimeoutSeconds: s.withDefault(s.num({ min: 1, max: 300 }), 30),
  /**
   * Connections from one source address still in their TLS handshake, on both ports together; a further one is
   * refused at TCP accept.
   */
  maxPendingHandshakesPerAddress: s.withDefault(s.int({ min: 1, max: 100_000 }), 128),
  /**
   * Connections still in their TLS handshake over all addresses. Each holds a file descriptor (20,000 per process
   * here): at the cap a new connection evicts the oldest one, so a half-open flood cannot lock devices out.
   */
  maxPendingHandshakes: s.withDefault(s.int({ min: 1, max: 1_000_000 }), 4096),
});

/** A trusted load balancer's address, or its subnet in CIDR notation. */
const proxyAddress: schema.Schema<string> = {
  describe: 'IPv4 or IPv6 address, or subnet in CIDR notation',
  check(v, path, issues) {
    const text = s.str({ maxLength: 64 }).check(v, path, issues);
    if (typeof v === 'string' && v.length <= 64 && !parseAddressOrSubnet(v))
      issues.push({ path, message: `${JSON.stringify(v)} is not an IPv4 or IPv6 address or a subnet like 10.0.0.0/8` });
    return text;
  },
};

/** The operator API and the other HTTPS routes (docs/fleet-config.md, "api"). */
const apiFields = s.object({
  /** Requests per minute from one source address, on every route (429 beyond). */
  requestsPerMinutePerAddress: s.withDefault(s.int({ min: 1, max: 1_000_000 }), 3000),
  /** Requests per minute by one operator, on the routes that need a token (429 beyond). */
  requestsPerMinutePerOperator: s.withDefault(s.int({ min: 1, max: 1_000_000 }), 1200),
  /** Largest request body of any route (413 beyond); at least what enrolment needs (16 KiB). */
  maxBodyBytes: s.withDefault(s.int({ min: 16 * 1024, max: 16 * 1024 * 1024 }), 64 * 1024),
  /** Seconds a client has to send its request headers, and its whole request (a slow client is dropped). */
  headersTimeoutSeconds: s.withDefault(s.num({ min: 1, max: 300 }), 10),
  requestTimeoutSeconds: s.withDefault(s.num({ min: 1, max: 3600 }), 30),
});

export type ApiConfig = schema.Infer<typeof apiFields>;

const apiSchema: schema.Schema<ApiConfig> = {
  describe: apiFields.describe,
  check(v, path, issues) {
    const api = apiFields.check(v, path, issues);
    // Node refuses a headers timeout longer than the request timeout; reported with the other problems.
    if (api.headersTimeoutSeconds > api.requestTimeoutSeconds) {
      const at = path ? `${path}.headersTimeoutSeconds` : 'headersTimeoutSeconds';
      issues.push({ path: at, message: 'must not exceed requestTimeoutSeconds' });
    }
    return api;
  },
};

const configSchema = s.object({
  /**
   * End-to-end sealing of device messages (docs/security.md). "required" (the default) refuses every unsealed
   * device message with SEAL_REQUIRED; "optional" also stores plain ones (old agents, benchmarks). A sealed message
   * that does not open is refused either way.
   */
  sealing: s.withDefault(s.oneOf(['required', 'optional'] as const), 'required'),
  limits: s.withDefault(limitsSchema, {}),
  api: s.withDefault(apiSchema, {}),
  /**
   * Load balancers in front of the MQTT and HTTPS ports that send the PROXY protocol
   * (docs/fleet-config.md#proxyprotocol): a connection from one of these addresses must start with a PROXY header
   * naming the client's address.
   */
  proxyProtocol: s.withDefault(
    s.object({ trustedProxies: s.withDefault(s.array(proxyAddress, { maxItems: 64 }), []) }),
    {},
  ),
  /** Rate limits per device type; devices of an unlisted type get "default". */
  deviceTypes: s.withDefault(s.record(/^[a-z0-9][a-z0-9-]{0,31}$/, rateSchema, { maxKeys: 64 }), {}),
  enrollment: s.withDefault(
    s.object({
      /** Failed enrolment attempts per source address per minute before it gets 429. */
      failuresPerMinutePerAddress: s.withDefault(s.int({ min: 1, max: 10_000 }), 5),
      deviceValidityDays: s.withDefault(s.int({ min: 1, max: MAX_DEVICE_VALIDITY_DAYS }), DEFAULT_DEVICE_VALIDITY_DAYS),
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
  /** Firmware releases (docs/fleet-config.md#releases). */
  releases: s.withDefault(
    s.object({
      /** Largest bundle `fleet release publish` accepts (413 / FLEET_RELEASE_TOO_LARGE beyond); streamed to disk. */
      maxBundleBytes: s.withDefault(s.int({ min: 1024 * 1024, max: 16 * 1024 * 1024 * 1024 }), 1024 * 1024 * 1024),
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
    // Not readFileSync: a FIFO given as the config would block for ever.
    raw = JSON.parse(readRegularText(file, { maxBytes: 1024 * 1024 }));
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
