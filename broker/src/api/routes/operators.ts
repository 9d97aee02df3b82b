// /api/v1/operators: who may use the management plane (list, add for a public key, revoke).
import type { FastifyInstance } from 'fastify';
import { API_PREFIX } from '../app.js';
import type { Role } from '../roles.js';
import { object, operator, operatorName, responses, role } from '../schemas.js';
import { adminOf, type RouteDeps } from './context.js';

const nameParams = object({ name: operatorName });

export function operatorRoutes(app: FastifyInstance, deps: RouteDeps): void {
  app.get(
    `${API_PREFIX}/operators`,
    {
      config: { scope: 'operators:read', fleetWide: true },
      schema: {
        summary: 'List operators, their roles and status',
        tags: ['operators'],
        response: responses({ 200: object({ items: { type: 'array', items: operator } }) }),
      },
    },
    async (req) => ({ items: await adminOf(deps, req).operators.list() }),
  );

  app.post(
    `${API_PREFIX}/operators`,
    {
      config: { scope: 'operators:write', fleetWide: true, action: 'operator.add' },
      schema: {
        summary: 'Register an operator for the Ed25519 public key its holder made (fleet operator add)',
        tags: ['operators'],
        body: object({
          name: operatorName,
          role,
          publicKey: { type: 'string', minLength: 40, maxLength: 1024, description: 'SPKI PEM' },
        }),
        response: responses({ 201: operator }, [409]),
      },
    },
    async (req, reply) => {
      const body = req.body as { name: string; role: Role; publicKey: string };
      req.auditObject = { type: 'operator', id: body.name };
      return reply.code(201).send(await adminOf(deps, req).operators.add(body));
    },
  );

  app.post(
    `${API_PREFIX}/operators/:name/revoke`,
    {
      config: { scope: 'operators:write', fleetWide: true, action: 'operator.revoke' },
      schema: {
        summary: "Revoke an operator: its tokens stop working at once (the next request checks the operator's status)",
        tags: ['operators'],
        params: nameParams,
        response: responses({ 200: object({ name: operatorName, revoked: { type: 'boolean' } }) }, [404, 409]),
      },
    },
    async (req) => adminOf(deps, req).operators.revoke((req.params as { name: string }).name),
  );
}
