// exposure: a scored report of what listens on a gateway and how insecure it is (device → backend, QoS 1).
import { DEVICE_ID_PATTERN } from '../topics.js';
import { array, bool, int, literal, nullable, object, oneOf, optional, str, type Infer } from '../schema.js';
import { decodeWith, messageId, timestamp } from './common.js';

/** Largest encoded report accepted, in bytes; the agent trims low-severity findings to stay under it. */
export const MAX_EXPOSURE_BYTES = 256 * 1024;
export const MAX_SERVICES = 512;
export const MAX_FINDINGS = 1024;
export const MAX_REFERENCES = 8;

export const SEVERITIES = ['critical', 'high', 'medium', 'low', 'info'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** A–F without E, as most web graders use; the bands are in docs/scoring.md. */
export const GRADES = ['A', 'B', 'C', 'D', 'F'] as const;
export type Grade = (typeof GRADES)[number];

export const CATEGORIES = ['transport', 'authentication', 'exposure', 'configuration', 'ai'] as const;
export type Category = (typeof CATEGORIES)[number];

/** Check ids are dotted lower-case words: `area.name` (e.g. mqtt.anonymous, http.sensitive-file). */
export const CHECK_ID_PATTERN = /^[a-z][a-z0-9]*(\.[a-z0-9][a-z0-9-]*)+$/;
/** Protocol names as the scanner detects them (mqtt, http, redis, …, unknown). */
export const PROTOCOL_PATTERN = /^[a-z][a-z0-9-]{0,31}$/;

const subScore = () => int({ min: 0, max: 100 });
const text = (maxLength: number) => str({ maxLength });

export const exposureServiceSchema = object({
  port: int({ min: 1, max: 65_535 }),
  transport: oneOf(['tcp', 'udp'] as const),
  /** The widest address the socket is bound to: 0.0.0.0 / :: (all interfaces), a LAN address, or loopback. */
  bind: str({ minLength: 1, maxLength: 64, pattern: /^[0-9A-Fa-f.:%a-z]+$/ }),
  loopbackOnly: bool(),
  /** Owning process, when /proc/<pid>/fd let the agent see it. */
  process: optional(object({ pid: int({ min: 1, max: 4_194_304 }), name: str({ minLength: 1, maxLength: 64 }) })),
  protocol: str({ pattern: PROTOCOL_PATTERN, maxLength: 32 }),
  tls: bool(),
  /** Product and version as the service announced it (banner, Server header, INFO), when it did. */
  product: optional(text(128)),
  /** Established TCP connections to this port at scan time. */
  connections: optional(int({ min: 0, max: 10_000_000 })),
  /** What the scan could not finish on this service, e.g. an AI model cut off at its time budget. */
  note: optional(text(200)),
});

export const exposureFindingSchema = object({
  check: str({ pattern: CHECK_ID_PATTERN, maxLength: 64 }),
  severity: oneOf(SEVERITIES),
  category: oneOf(CATEGORIES),
  port: int({ min: 0, max: 65_535 }),
  transport: oneOf(['tcp', 'udp'] as const),
  title: str({ minLength: 1, maxLength: 160 }),
  /** What was observed and how to re-check it by hand. */
  evidence: str({ minLength: 1, maxLength: 1024 }),
  remediation: str({ minLength: 1, maxLength: 600 }),
  /** Short ids: OWASP-API8:2023, OWASP-IoT-I2:2018, CWE-306, OWASP-LLM01:2025. */
  references: array(str({ minLength: 1, maxLength: 64, pattern: /^[A-Za-z0-9:._-]+$/ }), { maxItems: MAX_REFERENCES }),
});

export const exposureSchema = object({
  v: literal(1),
  id: messageId(),
  ts: timestamp(),
  deviceId: str({ pattern: DEVICE_ID_PATTERN, maxLength: 64 }),
  scoringVersion: int({ min: 1, max: 1000 }),
  score: int({ min: 0, max: 100 }),
  grade: oneOf(GRADES),
  categories: object({
    transport: subScore(),
    authentication: subScore(),
    exposure: subScore(),
    configuration: subScore(),
    /** null until the AI-surface checks exist (a later issue). */
    ai: nullable(subScore()),
  }),
  scan: object({
    /** What was probed: an address, or "local" when each socket was probed on its own bind address. */
    target: str({ minLength: 1, maxLength: 255 }),
    durationMs: int({ min: 0, max: 86_400_000 }),
    /** True when the total time budget ran out before every probe finished. */
    timedOut: bool(),
    credentialChecks: bool(),
    /** True when findings were dropped (lowest severity first) to keep the report under its size limit. */
    truncated: bool(),
  }),
  services: array(exposureServiceSchema, { maxItems: MAX_SERVICES }),
  findings: array(exposureFindingSchema, { maxItems: MAX_FINDINGS }),
});

export type ExposureService = Infer<typeof exposureServiceSchema>;
export type ExposureFinding = Infer<typeof exposureFindingSchema>;
export type ExposureReport = Infer<typeof exposureSchema>;

/** Decodes and validates a CBOR exposure report; throws ProtocolError. */
export function decodeExposure(bytes: Uint8Array): ExposureReport {
  // 1024 findings of ~25 items and 512 services of ~20 items exceed the default item budget.
  return decodeWith('exposure', exposureSchema, bytes, { maxBytes: MAX_EXPOSURE_BYTES, maxItems: 60_000 });
}
