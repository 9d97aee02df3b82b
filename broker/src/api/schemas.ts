// JSON schemas of the API's inputs and outputs: fastify validates requests and serializes responses with them
// (a field not listed never leaves the server), and @fastify/swagger publishes them in the OpenAPI document.
import { DEVICE_ID_PATTERN } from '../../../shared/src/index.js';
import { ROLE_NAMES, ALL_SCOPES } from './roles.js';

type Json = Record<string, unknown>;

const nullable = (type: string, extra: Json = {}) => ({ type: [type, 'null'], ...extra });
const isoTime = { type: 'string', format: 'date-time' } as const;

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

export const issuedCertificate = object({
  deviceId,
  certificate: { type: 'string', description: 'PEM' },
  ca: { type: 'string', description: 'PEM of the fleet CA' },
  serial: { type: 'string' },
  notAfter: isoTime,
});

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
