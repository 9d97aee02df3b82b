// /api/v1/fleet-audit: the fleet-wide security checks of `fleet audit`. GET reads the latest stored run; POST runs
// the checks now and stores the run. Both need events:read (the scope that reads the fleet audit): running writes
// only the run itself, which is derived from what the caller may read anyway, and the audit trail records it.
import type { FastifyInstance } from 'fastify';
import { API_PREFIX } from '../app.js';
import { ApiError } from '../errors.js';
import { fleetAuditRun, responses } from '../schemas.js';
import { adminOf, type RouteDeps } from './context.js';

export function fleetAuditRoutes(app: FastifyInstance, deps: RouteDeps): void {
  app.get(
    `${API_PREFIX}/fleet-audit`,
    {
      config: { scope: 'events:read', fleetWide: true },
      schema: {
        summary: 'The latest stored fleet audit run (404 before the first; POST runs one)',
        tags: ['audit'],
        response: responses({ 200: fleetAuditRun }, [404]),
      },
    },
    async (req) => {
      const run = await adminOf(deps, req).fleetAudit.latest();
      if (!run)
        throw new ApiError(404, 'API_NOT_FOUND', 'no fleet audit has run yet; POST /api/v1/fleet-audit runs one');
      return run;
    },
  );

  app.post(
    `${API_PREFIX}/fleet-audit`,
    {
      config: { scope: 'events:read', fleetWide: true, action: 'fleet-audit.run' },
      schema: {
        summary:
          'Run the fleet audit now (certificates, revoked sessions, clones, unseen devices, scores, CA) and store it',
        tags: ['audit'],
        response: responses({ 201: fleetAuditRun }),
      },
    },
    async (req, reply) => reply.code(201).send(await adminOf(deps, req).fleetAudit.run()),
  );
}
