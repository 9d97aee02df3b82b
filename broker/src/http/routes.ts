// The device-facing HTTPS routes of the fleet server: health, Prometheus metrics and device enrolment. They need
// no operator token; enrolment is guarded by its one-time tokens and its per-address failure limit.
import type { FastifyInstance } from 'fastify';
import { object, problemDocument } from '../api/schemas.js';
import type { Enrollment } from '../fleet/enrollment.js';
import type { FleetMetrics } from '../metrics/fleet-metrics.js';
import type { Sessions } from '../mqtt/sessions.js';

/** A CSR is under 2 KiB; the cap leaves room for a long token and id, and no more. */
export const MAX_ENROLL_BODY = 16 * 1024;

export interface DeviceRouteDeps {
  readonly sessions: Sessions;
  readonly metrics: FleetMetrics;
  readonly enrollment: Enrollment;
  readonly mqttUrl: () => string;
  /** What /readyz reports: each check true when ready. */
  readonly readiness: () => Readiness;
}

/** The checks behind /readyz; `redis` only in cluster mode. */
export interface Readiness {
  readonly listeners: boolean;
  readonly database: boolean;
  readonly redis?: boolean;
}

export function deviceFacingRoutes(app: FastifyInstance, deps: DeviceRouteDeps): void {
  app.get(
    '/healthz',
    {
      config: { scope: null, rateLimit: false },
      schema: {
        summary: 'Liveness and the number of connected devices',
        tags: ['server'],
        response: { 200: object({ status: { type: 'string' }, connected: { type: 'integer' } }) },
      },
    },
    async () => ({ status: 'ok', connected: deps.sessions.size }),
  );

  // For a load balancer: 503 takes the node out of rotation while something it needs is down, naming what.
  app.get(
    '/readyz',
    {
      config: { scope: null, rateLimit: false },
      schema: {
        summary: 'Readiness: listeners up, database writable, Redis connected (cluster); 503 names what is not',
        tags: ['server'],
        response: {
          '2xx': object({ status: { type: 'string' }, notReady: { type: 'array', items: { type: 'string' } } }),
          '5xx': object({ status: { type: 'string' }, notReady: { type: 'array', items: { type: 'string' } } }),
        },
      },
    },
    async (_req, reply) => {
      const checks = deps.readiness();
      const notReady = Object.entries(checks)
        .filter(([, ok]) => ok === false)
        .map(([name]) => name);
      return reply
        .code(notReady.length === 0 ? 200 : 503)
        .send({ status: notReady.length === 0 ? 'ready' : 'not-ready', notReady });
    },
  );

  app.get(
    '/metrics',
    {
      config: { scope: null, rateLimit: false },
      schema: { summary: 'Prometheus metrics (text format 0.0.4)', tags: ['server'] },
    },
    async (_req, reply) => reply.type('text/plain; version=0.0.4; charset=utf-8').send(deps.metrics.registry.render()),
  );

  // The enrolment service checks every field itself, so that a malformed attempt counts against the address's
  // failure budget like any other failed attempt; the schema only bounds sizes and types.
  app.post(
    '/v1/enroll',
    {
      config: { scope: null },
      bodyLimit: MAX_ENROLL_BODY,
      schema: {
        summary: 'Enrol a device: a one-time token and a CSR for a key the device made, for its certificate',
        tags: ['server'],
        body: object(
          {
            token: { type: 'string', maxLength: 200 },
            id: { type: 'string', maxLength: 100 },
            csr: { type: 'string', maxLength: 8192 },
            /** The device's X25519 sealing public key (SPKI PEM), made on the device with its TLS key. */
            sealKey: { type: 'string', maxLength: 1024 },
          },
          ['token', 'id', 'csr', 'sealKey'],
        ),
        response: {
          201: object(
            {
              deviceId: { type: 'string' },
              certificate: { type: 'string' },
              ca: { type: 'string' },
              mqtt: { type: 'string' },
              sealKey: { type: 'string' },
            },
            ['sealKey'],
          ),
          '4xx': problemDocument,
        },
      },
    },
    async (req, reply) => {
      const b = req.body as { token?: string; id?: string; csr?: string; sealKey?: string };
      const result = await deps.enrollment.enroll({
        token: b.token,
        id: b.id,
        csr: b.csr,
        sealKey: b.sealKey,
        address: req.ip,
      });
      if (!result.ok) {
        // problem+json, with the enrolment reason also as `error` (what agents read).
        return reply.code(result.status).type('application/problem+json').send({
          type: 'urn:edgeward:error:FLEET_ENROLL_REFUSED',
          title: 'Enrolment refused',
          status: result.status,
          detail: result.message,
          code: 'FLEET_ENROLL_REFUSED',
          error: result.reason,
          message: result.message,
        });
      }
      return reply.code(201).send({
        deviceId: result.deviceId,
        certificate: result.certificate,
        ca: result.ca,
        mqtt: deps.mqttUrl(),
        ...(result.sealKey ? { sealKey: result.sealKey } : {}),
      });
    },
  );
}
