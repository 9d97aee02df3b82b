// Read-only logs: the security event log (/api/v1/events), the operator audit trail (/api/v1/audit), and
// enrolment tokens (/api/v1/enrollment-tokens), the one write here.
import type { FastifyInstance } from 'fastify';
import { API_PREFIX } from '../app.js';
import {
  auditRecord,
  deviceId,
  isoTime,
  numericCursor,
  object,
  pageOf,
  pageQuery,
  responses,
  securityEvent,
} from '../schemas.js';
import { adminOf, type RouteDeps } from './context.js';

export function eventRoutes(app: FastifyInstance, deps: RouteDeps): void {
  app.get(
    `${API_PREFIX}/events`,
    {
      config: { scope: 'events:read' },
      schema: {
        summary: 'The security event log, newest first (authentication failures, denials, throttles, revocations…)',
        tags: ['events'],
        querystring: object(
          {
            ...pageQuery,
            cursor: numericCursor,
            event: { type: 'string', pattern: '^[a-z][a-z0-9.-]{0,63}$' },
            deviceId,
            since: { ...isoTime, description: 'Recorded at or after (ISO 8601)' },
          },
          ['limit', 'cursor', 'event', 'deviceId', 'since'],
        ),
        response: responses({ 200: pageOf(securityEvent) }),
      },
    },
    async (req) => adminOf(deps, req).events(req.query as Parameters<ReturnType<typeof adminOf>['events']>[0]),
  );

  app.get(
    `${API_PREFIX}/audit`,
    {
      config: { scope: 'audit:read', fleetWide: true },
      schema: {
        summary: 'The operator audit trail, newest first: who changed what, from where, and the outcome',
        tags: ['audit'],
        querystring: object(
          {
            ...pageQuery,
            cursor: numericCursor,
            operator: { type: 'string', maxLength: 80 },
            action: { type: 'string', maxLength: 64 },
          },
          ['limit', 'cursor', 'operator', 'action'],
        ),
        response: responses({ 200: pageOf(auditRecord) }),
      },
    },
    async (req) => adminOf(deps, req).auditTrail(req.query as Parameters<ReturnType<typeof adminOf>['auditTrail']>[0]),
  );

  app.post(
    `${API_PREFIX}/enrollment-tokens`,
    {
      config: { scope: 'enrollment:write', fleetWide: true, action: 'enrollment.create-tokens' },
      schema: {
        summary: 'One-time enrolment tokens for devices that make their own keys (shown once; only hashes are kept)',
        tags: ['devices'],
        body: object({
          count: { type: 'integer', minimum: 1, maximum: 10_000 },
          ttlSeconds: { type: 'integer', minimum: 60, maximum: 30 * 86_400 },
          deviceType: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]{0,31}$' },
        }),
        response: responses({
          201: object({ tokens: { type: 'array', items: { type: 'string' } }, expires: { type: 'string' } }),
        }),
      },
    },
    async (req, reply) => {
      const body = req.body as { count: number; ttlSeconds: number; deviceType: string };
      req.auditObject = { type: 'enrollment', id: body.deviceType };
      return reply.code(201).send(await adminOf(deps, req).enrollment.createTokens(body));
    },
  );
}
