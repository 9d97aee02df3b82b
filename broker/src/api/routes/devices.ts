// /api/v1/devices: the device registry (list, show, register for a CSR, renew, revoke).
import type { FastifyInstance } from 'fastify';
import { MAX_DEVICE_VALIDITY_DAYS } from '../../fleet/provision.js';
import { API_PREFIX } from '../app.js';
import {
  csr,
  device,
  deviceId,
  idParams,
  issuedCertificate,
  object,
  pageOf,
  pageQuery,
  responses,
} from '../schemas.js';
import { adminOf, type RouteDeps } from './context.js';

const sealKey = {
  type: 'string',
  maxLength: 1024,
  description: "The device's X25519 sealing public key, SPKI PEM (made with its TLS key)",
} as const;

export function deviceRoutes(app: FastifyInstance, deps: RouteDeps): void {
  app.get(
    `${API_PREFIX}/devices`,
    {
      config: { scope: 'devices:read' },
      schema: {
        summary: 'List devices in id order, a page at a time',
        tags: ['devices'],
        querystring: object({ ...pageQuery, status: { type: 'string', enum: ['active', 'revoked'] } }, [
          'limit',
          'cursor',
          'status',
        ]),
        response: responses({ 200: pageOf(device) }),
      },
    },
    async (req) => {
      const q = req.query as { limit: number; cursor?: string; status?: 'active' | 'revoked' };
      return adminOf(deps, req).devices.list(q);
    },
  );

  app.get(
    `${API_PREFIX}/devices/:id`,
    {
      config: { scope: 'devices:read', deviceParam: 'id' },
      schema: {
        summary: 'Show a device',
        tags: ['devices'],
        params: idParams,
        response: responses({ 200: device }, [404]),
      },
    },
    async (req) => adminOf(deps, req).devices.get((req.params as { id: string }).id),
  );

  app.post(
    `${API_PREFIX}/devices`,
    {
      config: { scope: 'devices:write', fleetWide: true, action: 'device.add' },
      schema: {
        summary: 'Register a device for the key in its CSR (the CN must be the id) and issue its certificate',
        tags: ['devices'],
        body: object(
          {
            id: deviceId,
            type: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]{0,31}$' },
            csr,
            validityDays: { type: 'integer', minimum: 1, maximum: MAX_DEVICE_VALIDITY_DAYS },
            sealKey,
          },
          ['type', 'validityDays', 'sealKey'],
        ),
        response: responses({ 201: issuedCertificate }, [409]),
      },
    },
    async (req, reply) => {
      const body = req.body as { id: string; type?: string; csr: string; validityDays?: number; sealKey?: string };
      req.auditObject = { type: 'device', id: body.id };
      const out = await adminOf(deps, req).devices.add(body);
      return reply.code(201).send(out);
    },
  );

  app.post(
    `${API_PREFIX}/devices/:id/renew`,
    {
      config: { scope: 'devices:write', deviceParam: 'id', action: 'device.renew' },
      schema: {
        summary:
          'Issue a new certificate for a CSR of the device (and register a new sealing key); older ones stay valid ' +
          'unless revokeOld',
        tags: ['devices'],
        params: idParams,
        body: object(
          {
            csr,
            validityDays: { type: 'integer', minimum: 1, maximum: MAX_DEVICE_VALIDITY_DAYS },
            revokeOld: { type: 'boolean' },
            sealKey,
          },
          ['validityDays', 'revokeOld', 'sealKey'],
        ),
        response: responses({ 200: issuedCertificate }, [404, 409]),
      },
    },
    async (req) => {
      const body = req.body as { csr: string; validityDays?: number; revokeOld?: boolean; sealKey?: string };
      return adminOf(deps, req).devices.renew((req.params as { id: string }).id, body);
    },
  );

  app.post(
    `${API_PREFIX}/devices/:id/revoke`,
    {
      config: { scope: 'devices:write', deviceParam: 'id', action: 'device.revoke' },
      schema: {
        summary: 'Revoke the device and its certificates; a running server drops its session within a second',
        tags: ['devices'],
        params: idParams,
        response: responses({ 200: object({ deviceId, revoked: { type: 'boolean' } }) }, [404]),
      },
    },
    async (req) => adminOf(deps, req).devices.revoke((req.params as { id: string }).id),
  );
}
