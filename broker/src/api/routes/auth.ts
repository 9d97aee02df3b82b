// POST /api/v1/auth/token: a short-lived, scoped token for an operator who proves possession of its key.
import type { FastifyInstance } from 'fastify';
import { isValidDeviceId } from '../../../../shared/src/index.js';
import { DEFAULT_TOKEN_TTL_MS, MAX_TOKEN_DEVICES, MAX_TOKEN_TTL_MS } from '../access-tokens.js';
import { API_PREFIX } from '../app.js';
import { ApiError } from '../errors.js';
import { narrowScopes } from '../roles.js';
import { object, operatorName, responses, role, scope } from '../schemas.js';
import type { RouteDeps } from './context.js';

export function authRoutes(app: FastifyInstance, deps: RouteDeps): void {
  app.post(
    `${API_PREFIX}/auth/token`,
    {
      config: { scope: null, action: 'token.issue' },
      schema: {
        summary: 'Exchange a proof of possession of the operator key for a token (default 15 min, at most 1 h)',
        description:
          'The assertion is a JWT signed (EdDSA) with the operator key: header kid = the key id, typ ' +
          'edgeward-pop+jwt; iss = sub = kid, aud = the fleet id, iat, exp at most 60 s later, a fresh jti; ' +
          'optional scope (space-separated), devices (array) and ttl (seconds). See docs/operator-api.md.',
        tags: ['auth'],
        body: object({ assertion: { type: 'string', minLength: 20, maxLength: 4096 } }),
        response: responses({
          201: object({
            token: { type: 'string' },
            expiresAt: { type: 'string', format: 'date-time' },
            scopes: { type: 'array', items: scope },
            devices: { type: ['array', 'null'], items: { type: 'string' } },
            operator: operatorName,
            role,
          }),
        }),
      },
    },
    async (req, reply) => {
      const proof = await deps.verifyProof((req.body as { assertion: string }).assertion);
      if (!proof.ok) {
        throw new ApiError(401, 'API_PROOF_INVALID', `the proof of possession is refused (${proof.reason})`, {
          reason: proof.reason,
          ...(proof.operator ? { operator: proof.operator.name } : {}),
        });
      }
      const op = proof.operator;
      req.auditObject = { type: 'operator', id: op.name };
      req.auth = { operatorId: op.id, operator: op.name, role: op.role, scopes: [], devices: null };
      const { scopes, refused } = narrowScopes(op.role, proof.request.scopes);
      if (refused.length) {
        throw new ApiError(403, 'API_FORBIDDEN', `role ${op.role} does not allow ${refused.join(', ')}`, {
          reason: 'scope',
          operator: op.name,
        });
      }
      const devices = proof.request.devices ?? null;
      if (devices && (devices.length > MAX_TOKEN_DEVICES || !devices.every(isValidDeviceId))) {
        throw new ApiError(400, 'API_INVALID_REQUEST', `devices must be at most ${MAX_TOKEN_DEVICES} valid device ids`);
      }
      const ttlMs = proof.request.ttlSeconds ? proof.request.ttlSeconds * 1000 : DEFAULT_TOKEN_TTL_MS;
      if (ttlMs > MAX_TOKEN_TTL_MS) {
        throw new ApiError(400, 'API_INVALID_REQUEST', `ttl is at most ${MAX_TOKEN_TTL_MS / 1000} s`);
      }
      const issued = await deps.tokens.issue({
        operatorId: op.id,
        operator: op.name,
        role: op.role,
        scopes,
        devices,
        ttlMs,
      });
      return reply.code(201).send({ ...issued, operator: op.name, role: op.role });
    },
  );
}
