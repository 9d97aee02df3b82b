// Signed commands: an operator reserves a counter for its key, signs the command on its own machine with the key
// (which never leaves it) and submits the envelope; the server checks it before queuing it for the relay
// (admin/command-submit.ts). Lists and status follow the devices' acknowledgements.
import type { FastifyInstance } from 'fastify';
import { MAX_ENVELOPE_BYTES, openEnvelope, peekCommandId } from '../../../../shared/src/commands/index.js';
import { API_PREFIX } from '../app.js';
import {
  command,
  commandAck,
  commandId,
  deviceId,
  idParams,
  keyId,
  numericCursor,
  object,
  pageOf,
  pageQuery,
  responses,
} from '../schemas.js';
import { adminOf, type RouteDeps } from './context.js';

const cursor = numericCursor;

export function commandRoutes(app: FastifyInstance, deps: RouteDeps): void {
  app.post(
    `${API_PREFIX}/commands/counter`,
    {
      config: { scope: 'commands:send', action: 'command-counter.reserve' },
      schema: {
        summary: "Reserve the next counter of the operator's key, for the next command it signs",
        description:
          'Counters are per key and strictly increasing across every device; a submitted command must carry one ' +
          'reserved here and not used before.',
        tags: ['commands'],
        response: responses({ 200: object({ kid: keyId, counter: { type: 'integer', minimum: 1 } }) }),
      },
    },
    async (req) => {
      const reserved = await adminOf(deps, req).commands.reserveCounter();
      req.auditObject = { type: 'command-counter', id: reserved.kid };
      return reserved;
    },
  );

  app.post(
    `${API_PREFIX}/devices/:id/commands`,
    {
      config: { scope: 'commands:send', deviceParam: 'id', action: 'command.submit' },
      schema: {
        summary:
          'Queue a command signed with the operator key; checked before it is queued, relayed until acknowledged',
        description:
          "The envelope (docs/commands.md) must be signed by the calling operator's own key, for this device, with " +
          'valid parameters, unexpired, and carry a counter reserved at POST /api/v1/commands/counter and not used ' +
          'before; FLEET_COMMAND_INVALID names what is wrong otherwise, and nothing is queued.',
        tags: ['commands'],
        params: idParams,
        body: object({
          envelope: {
            type: 'string',
            pattern: '^[A-Za-z0-9+/]+={0,2}$',
            maxLength: Math.ceil(MAX_ENVELOPE_BYTES / 3) * 4,
            description: 'The signed CBOR envelope {v, body, kid, sig} (docs/commands.md), base64',
          },
        }),
        response: responses({ 201: command }, [404, 409]),
      },
    },
    async (req, reply) => {
      const envelope = Buffer.from((req.body as { envelope: string }).envelope, 'base64');
      const opened = openEnvelope(envelope);
      const cmdId = opened.ok ? peekCommandId(opened.envelope.bodyBytes) : null;
      if (cmdId) req.auditObject = { type: 'command', id: cmdId };
      const row = await adminOf(deps, req).commands.submit((req.params as { id: string }).id, envelope);
      return reply.code(201).send(row);
    },
  );

  app.get(
    `${API_PREFIX}/commands`,
    {
      config: { scope: 'commands:read' },
      schema: {
        summary: 'Commands, newest first, a page at a time (only those of its devices for a device-limited token)',
        tags: ['commands'],
        querystring: object({ deviceId, ...pageQuery, cursor }, ['deviceId', 'limit', 'cursor']),
        response: responses({ 200: pageOf(command) }),
      },
    },
    async (req) => adminOf(deps, req).commands.list(req.query as { deviceId?: string; limit: number; cursor?: string }),
  );

  app.get(
    `${API_PREFIX}/devices/:id/commands`,
    {
      config: { scope: 'commands:read', deviceParam: 'id' },
      schema: {
        summary: "A device's commands, newest first, a page at a time",
        tags: ['commands'],
        params: idParams,
        querystring: object({ ...pageQuery, cursor }, ['limit', 'cursor']),
        response: responses({ 200: pageOf(command) }, [404]),
      },
    },
    async (req) => {
      const admin = adminOf(deps, req);
      const { id } = req.params as { id: string };
      await admin.devices.get(id);
      return admin.commands.list({ ...(req.query as { limit: number; cursor?: string }), deviceId: id });
    },
  );

  app.get(
    `${API_PREFIX}/commands/:cmdId`,
    {
      config: { scope: 'commands:read' },
      schema: {
        summary: "A command's status: pending, sent, accepted, done, rejected, failed or expired",
        tags: ['commands'],
        params: object({ cmdId: commandId }),
        response: responses({ 200: command }, [404]),
      },
    },
    async (req) => adminOf(deps, req).commands.get((req.params as { cmdId: string }).cmdId),
  );

  app.get(
    `${API_PREFIX}/commands/:cmdId/acks`,
    {
      config: { scope: 'commands:read' },
      schema: {
        summary: "The acknowledgements the command's device sent for it, oldest first, a page at a time",
        description:
          'Every acknowledgement the device sent, also those that did not move the status (a command it ran again, ' +
          "a replay it refused). Acknowledgements other devices sent naming this command's id are not shown.",
        tags: ['commands'],
        params: object({ cmdId: commandId }),
        querystring: object({ ...pageQuery, cursor }, ['limit', 'cursor']),
        response: responses({ 200: pageOf(commandAck) }, [404]),
      },
    },
    async (req) =>
      adminOf(deps, req).commands.acks(
        (req.params as { cmdId: string }).cmdId,
        req.query as { limit: number; cursor?: string },
      ),
  );
}
