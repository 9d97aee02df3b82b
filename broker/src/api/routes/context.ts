// What the route modules share: the administration service, the token machinery, and the caller of a request.
import type { FastifyRequest } from 'fastify';
import type { AdminReads } from '../../admin/admin-read-thread.js';
import type { AdminService } from '../../admin/local.js';
import type { FleetAdmin } from '../../admin/types.js';
import type { OperatorRegistryStore } from '../../store/types.js';
import type { TokenService } from '../access-tokens.js';
import type { ProofResult } from '../proof.js';

export interface RouteDeps {
  readonly admin: AdminService;
  /** The lists read on a thread of their own (admin-read-thread.ts); without it, on the event loop. */
  readonly reads?: AdminReads;
  readonly operators: OperatorRegistryStore;
  readonly tokens: TokenService;
  readonly verifyProof: (assertion: string) => Promise<ProofResult>;
  /** The largest bundle POST /api/v1/releases reads (config releases.maxBundleBytes). */
  readonly maxBundleBytes?: number;
}

/** The administration as the request's verified operator (their name in events, their device limits). */
export function adminOf(deps: RouteDeps, req: FastifyRequest): FleetAdmin {
  const auth = req.auth;
  if (!auth) throw new Error(`route ${req.routeOptions.url} has no caller: it must state a scope`);
  const caller = { actor: `operator:${auth.operator}`, devices: auth.devices, operatorId: auth.operatorId };
  const admin = deps.admin.forCaller(caller);
  return deps.reads ? deps.reads.admin(caller, admin) : admin;
}
