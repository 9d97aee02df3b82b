// JSON schemas of the API's inputs and outputs: fastify validates requests and serializes responses with them
// (a field not listed never leaves the server), and @fastify/swagger publishes them in the OpenAPI document.
import {
  CATEGORIES,
  CHECK_ID_PATTERN,
  DEVICE_ID_PATTERN,
  GRADES,
  MESSAGE_ID_PATTERN,
  PROTOCOL_PATTERN,
  SEVERITIES,
} from '../../../shared/src/index.js';
import { CMD_ACK_REASONS, CMD_ACK_STATUSES } from '../../../shared/src/commands/index.js';
import { ROLE_NAMES, ALL_SCOPES } from './roles.js';

type Json = Record<string, unknown>;

const nullable = (type: string, extra: Json = {}) => ({ type: [type, 'null'], ...extra });
export const isoTime = { type: 'string', format: 'date-time' } as const;

export const deviceId = {
  type: 'string',
  pattern: DEVICE_ID_PATTERN.source,
  minLength: 3,
  maxLength: 64,
  description: 'Device id: lower-case letters, digits and -, 3 to 64 characters',
} as const;

export const operatorName = {
  type: 'string',
  pattern: '^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$',
  maxLength: 64,
} as const;

export const role = { type: 'string', enum: ROLE_NAMES } as const;
export const scope = { type: 'string', enum: ALL_SCOPES } as const;

/** A strict object: every listed property required unless named optional, nothing else allowed. */
export function object(properties: Record<string, Json>, optional: readonly string[] = []): Json {
  return {
    type: 'object',
    additionalProperties: false,
    properties,
    required: Object.keys(properties).filter((k) => !optional.includes(k)),
  };
}

export const idParams = object({ id: deviceId });

export const pageQuery = {
  limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
  cursor: { type: 'string', minLength: 1, maxLength: 200, description: 'The `next` of the previous page' },
} as const;

/** The cursor of the lists that page by row number (admin/local-context.ts cursorOf checks it the same way). */
export const numericCursor = { ...pageQuery.cursor, pattern: '^[0-9]{1,15}$' } as const;

export const pageOf = (item: Json) => object({ items: { type: 'array', items: item }, next: nullable('string') });

export const device = object({
  id: deviceId,
  type: { type: 'string' },
  status: { type: 'string', enum: ['active', 'revoked'] },
  online: { type: 'boolean' },
  lastSeen: nullable('string', { format: 'date-time' }),
  lastAddress: nullable('string'),
  telemetryCount: { type: 'integer' },
  dropped: { type: 'integer' },
  rejectedCount: { type: 'integer' },
  agentVersion: nullable('string'),
  certificateSerial: nullable('string'),
  certificateExpires: nullable('string', { format: 'date-time' }),
  createdAt: isoTime,
});

export const issuedCertificate = object(
  {
    deviceId,
    certificate: { type: 'string', description: 'PEM' },
    ca: { type: 'string', description: 'PEM of the fleet CA' },
    serial: { type: 'string' },
    notAfter: isoTime,
    backendSealKey: { type: 'string', description: "PEM of the backend's X25519 sealing key (when sealKey was given)" },
  },
  ['backendSealKey'],
);

export const csr = { type: 'string', minLength: 100, maxLength: 8192, description: 'PKCS#10 request, PEM' } as const;

export const operator = object({
  name: operatorName,
  role,
  kid: { type: 'string', pattern: '^[0-9a-f]{16}$' },
  status: { type: 'string', enum: ['active', 'revoked'] },
  createdAt: isoTime,
  createdBy: { type: 'string' },
  revokedAt: nullable('string', { format: 'date-time' }),
  revokedBy: nullable('string'),
});

const anyJson = {};

export const securityEvent = object({
  id: { type: 'integer' },
  at: isoTime,
  event: { type: 'string' },
  deviceId: nullable('string'),
  address: nullable('string'),
  actor: nullable('string'),
  detail: anyJson,
});

export const auditRecord = object({
  id: { type: 'integer' },
  at: isoTime,
  operator: { type: 'string' },
  role: nullable('string'),
  action: { type: 'string' },
  objectType: nullable('string'),
  objectId: nullable('string'),
  address: nullable('string'),
  via: { type: 'string', enum: ['api', 'cli'] },
  outcome: { type: 'string', enum: ['ok', 'denied', 'failed'] },
  status: nullable('integer'),
  detail: nullable('object', { additionalProperties: true }),
});

// ---- Telemetry, exposure reports, posture, the fleet audit and commands. The order of properties is the order
// of the objects the local administration returns: the serializer writes them in schema order (required ones
// first), so `fleet … --json` prints the same bytes through the API as on the server host.

const pattern = (re: RegExp) => re.source;

const sampleProperties = {
  ts: { ...isoTime, description: "The device's own time of the sample" },
  receivedAt: { ...isoTime, description: 'When the fleet server received it (what from and to select on)' },
  stream: { type: 'string', description: "The device's sample stream (a new one when its outbox starts empty)" },
  seq: { type: 'integer', minimum: 1, description: 'The sample number in its stream' },
  metrics: { type: 'object', additionalProperties: { type: 'number' } },
};

export const telemetrySample = object(sampleProperties);

/** A sample of the fleet-wide listing (/telemetry): the device it came from, then the sample. */
export const fleetTelemetrySample = object({ deviceId, ...sampleProperties });

const subScore = { type: 'integer', minimum: 0, maximum: 100 } as const;
const transport = { type: 'string', enum: ['tcp', 'udp'] } as const;

/** An exposure report as the device sent it (shared/src/messages/exposure.ts; docs/scoring.md). */
export const exposureReport = object({
  v: { type: 'integer', const: 1 },
  id: { type: 'string', pattern: pattern(MESSAGE_ID_PATTERN) },
  ts: { type: 'integer', description: 'ms since the epoch, device clock' },
  deviceId,
  scoringVersion: { type: 'integer' },
  score: subScore,
  grade: { type: 'string', enum: [...GRADES] },
  categories: object(
    Object.fromEntries(
      CATEGORIES.map((c) => [c, c === 'ai' ? nullable('integer', { minimum: 0, maximum: 100 }) : subScore]),
    ),
  ),
  scan: object({
    target: { type: 'string' },
    durationMs: { type: 'integer' },
    timedOut: { type: 'boolean' },
    credentialChecks: { type: 'boolean' },
    truncated: { type: 'boolean' },
  }),
  services: {
    type: 'array',
    // No `required` here: the serializer writes required properties before optional ones, and the optional
    // `process` comes before `protocol`; listing none keeps the report's own order (see the note above).
    items: {
      type: 'object',
      additionalProperties: false,
      description: 'Every property is present but process (when the agent could see it), product, connections and note',
      properties: {
        port: { type: 'integer' },
        transport,
        bind: { type: 'string' },
        loopbackOnly: { type: 'boolean' },
        process: object({ pid: { type: 'integer' }, name: { type: 'string' } }),
        protocol: { type: 'string', pattern: pattern(PROTOCOL_PATTERN) },
        tls: { type: 'boolean' },
        product: { type: 'string' },
        connections: { type: 'integer' },
        note: { type: 'string', description: 'What the scan could not finish here (AI checks cut off)' },
      },
    },
  },
  findings: {
    type: 'array',
    items: object({
      check: { type: 'string', pattern: pattern(CHECK_ID_PATTERN) },
      severity: { type: 'string', enum: [...SEVERITIES] },
      category: { type: 'string', enum: [...CATEGORIES] },
      port: { type: 'integer' },
      transport,
      title: { type: 'string' },
      evidence: { type: 'string' },
      remediation: { type: 'string' },
      references: { type: 'array', items: { type: 'string' } },
    }),
  },
});

const reportSummaryProperties = {
  at: { ...isoTime, description: 'When the fleet server received it' },
  deviceTs: { ...isoTime, description: "The device's own time of the report" },
  score: subScore,
  grade: { type: 'string' },
  findings: { type: 'integer' },
};

export const reportSummary = object(reportSummaryProperties);

/** A report of the fleet-wide listing (/reports): the device it came from, then the report's summary. */
export const receivedReport = object({ deviceId, ...reportSummaryProperties });

export const deviceReport = object({
  deviceId,
  // A type list, not anyOf: the serializer would validate the stored report against each branch to pick one.
  latest: { ...exposureReport, type: ['object', 'null'] },
  receivedAt: nullable('string', { format: 'date-time' }),
  history: { type: 'array', items: reportSummary, description: 'Newest first' },
});

const gradeCounts = object(Object.fromEntries(GRADES.map((g) => [g, { type: 'integer' }])));

export const posture = object({
  devices: { type: 'integer', description: 'Devices with at least one report' },
  unreported: { type: 'integer', description: 'Active devices without a report' },
  averageScore: nullable('number'),
  grades: gradeCounts,
  worst: {
    type: 'array',
    items: object({
      deviceId,
      score: subScore,
      grade: { type: 'string' },
      findings: { type: 'integer' },
      at: isoTime,
    }),
  },
  commonFindings: {
    type: 'array',
    items: object({ check: { type: 'string' }, severity: { type: 'string' }, devices: { type: 'integer' } }),
  },
});

const count = { type: 'integer', minimum: 0 } as const;

/** One period of the posture history (db/posture-history.ts; docs/operations.md#posture-history). */
export const posturePeriod = object(
  {
    start: { ...isoTime, description: "The period's start (UTC); it ends an hour or a day later" },
    devices: { ...count, description: "Active devices with a report received before the period's end" },
    reporting: { ...count, description: 'Of them, those that sent a report within the period' },
    averageScore: nullable('number', { description: "Of the devices' latest reports; null when there is none" }),
    grades: gradeCounts,
    scores: {
      type: 'array',
      items: count,
      minItems: 11,
      maxItems: 11,
      description: 'How many devices scored 0-9, 10-19, …, 90-99, and 100',
    },
    checks: {
      type: 'object',
      additionalProperties: count,
      description: 'Check id → devices whose latest report has that finding (left out with checks=false)',
    },
    partial: {
      type: 'boolean',
      const: true,
      description: 'Computed live (the current period, or the previous one until it is stored): it may change',
    },
  },
  ['checks', 'partial'],
);

export const postureHistory = object({
  resolution: { type: 'string', enum: ['day', 'hour'] },
  periods: { type: 'array', items: posturePeriod, description: 'Oldest first; the last is the current period' },
});

export const fleetAuditRun = object({
  at: isoTime,
  findings: {
    type: 'array',
    items: object({
      check: { type: 'string' },
      severity: { type: 'string', enum: ['critical', 'high', 'medium', 'low'] },
      deviceId: nullable('string'),
      title: { type: 'string' },
      detail: { type: 'string' },
      remediation: { type: 'string' },
    }),
  },
});

export const commandId = {
  type: 'string',
  pattern: pattern(MESSAGE_ID_PATTERN),
  maxLength: 64,
  description: 'The command body id (acknowledgements carry it as cmdId)',
} as const;

export const keyId = { type: 'string', pattern: '^[0-9a-f]{16}$', description: 'Operator key id' } as const;

export const command = object({
  id: commandId,
  deviceId,
  command: { type: 'string' },
  params: { type: 'object', additionalProperties: true },
  operator: { type: 'string', description: 'The id of the key that signed it' },
  signedBy: nullable('string', { description: 'The operator who holds that key; null for a key no operator holds' }),
  status: { type: 'string', enum: ['pending', 'sent', 'accepted', 'done', 'rejected', 'failed', 'expired'] },
  reason: nullable('string'),
  detail: nullable('string'),
  attempts: { type: 'integer' },
  createdAt: isoTime,
  expiresAt: isoTime,
});

export const commandAck = object({
  status: { type: 'string', enum: [...CMD_ACK_STATUSES] },
  reason: {
    type: ['string', 'null'],
    enum: [...CMD_ACK_REASONS, null],
    description: 'Why it was rejected or failed (docs/commands.md)',
  },
  detail: nullable('string'),
  deviceTs: { ...isoTime, description: "The device's own time of the acknowledgement" },
  receivedAt: isoTime,
});

export const problemDocument = {
  type: 'object',
  description: 'RFC 9457 problem details; `code` is one of docs/errors.md',
  additionalProperties: true,
  properties: {
    type: { type: 'string' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    code: { type: 'string' },
    errors: {
      type: 'array',
      items: { type: 'object', properties: { path: { type: 'string' }, message: { type: 'string' } } },
    },
  },
  required: ['type', 'title', 'status', 'detail', 'code'],
} as const;

/** Response schemas for a route: its success body and the problem document for every error status. */
export function responses(ok: Record<number, Json>, errors: readonly number[] = []): Json {
  const out: Json = { ...ok };
  for (const status of [400, 401, 403, 429, ...errors]) {
    out[status] = { ...problemDocument, description: `problem+json (${status})` };
  }
  return out;
}

// ---- The dashboard: its session, the overview's counts, counts per hour.

export const dashboardSession = object({
  operator: operatorName,
  role,
  scopes: { type: 'array', items: scope },
  expiresAt: nullable('string', { format: 'date-time' }),
  csrf: nullable('string', { description: 'Send it as x-csrf-token with every request that changes something' }),
});

export const dashboardLink = object({
  operator: operatorName,
  role,
  path: { type: 'string', description: 'Open it on this server within five minutes; it works once' },
  expiresAt: isoTime,
});

export const overview = object({
  at: isoTime,
  devices: object({
    total: { type: 'integer' },
    active: { type: 'integer' },
    revoked: { type: 'integer' },
    online: { type: 'integer' },
    offline: { type: 'integer', description: 'Active devices without a live session' },
  }),
  certificates: object({
    withinDays: { type: 'integer' },
    expiring: { type: 'integer', description: 'Active devices whose certificate ends within withinDays' },
    soonest: {
      type: 'array',
      items: object({ deviceId, serial: { type: 'string' }, notAfter: isoTime }),
    },
  }),
  connections: { type: 'integer', description: 'Live MQTT sessions now' },
});

export const hourly = (what: string) =>
  object({
    hours: {
      type: 'array',
      description: 'The last `hours` whole hours and the current one, oldest first',
      items: object({ hour: isoTime, [what]: { type: 'integer' } }),
    },
  });
