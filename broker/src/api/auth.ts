// Who is calling, and may they: the bearer token is verified (signature, fleet, expiry), its operator must still
// be active with a role that still allows the token's scopes (read on every request, so a revocation or a
// demotion applies to the next request), and the route's scope and device limits must be within the token.
import type { FastifyRequest } from 'fastify';
import { csrfMatches, type DashboardSession } from '../db/dashboard-sessions.js';
import type { DashboardSessionStore, OperatorRegistryStore } from '../store/types.js';
import type { TokenFailure, TokenService } from './access-tokens.js';
import { ApiError } from './errors.js';
import { ROLES, roleAllows, type Role, type Scope } from './roles.js';

export interface Auth {
  readonly operatorId: number;
  readonly operator: string;
  readonly role: Role;
  readonly scopes: readonly Scope[];
  /** null: every device. */
  readonly devices: readonly string[] | null;
  /** Set when the caller is a dashboard session (its cookie), not a bearer token. */
  readonly session?: DashboardSession & { readonly secret: string };
}

/**
 * The dashboard's session cookie. `__Host-` makes the browser insist on Secure, Path=/ and no Domain, so no other
 * host or path can set or shadow it.
 */
export const SESSION_COOKIE = '__Host-edgeward-session';

/** The value of one cookie in a Cookie header (the last one wins if it is sent twice). */
export function cookieOf(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  let value: string | undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) value = part.slice(eq + 1).trim();
  }
  return value;
}

/** Requests that change nothing; every other method through a session needs its CSRF token. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Why a request was refused before its handler ran; each is a security event. */
export type DenialReason =
  | 'no-token'
  | TokenFailure
  | 'operator-revoked'
  | 'operator-unknown'
  | 'role-changed'
  | 'scope'
  | 'device'
  | 'fleet-wide'
  | 'session'
  | 'csrf';

declare module 'fastify' {
  interface FastifyRequest {
    /** The verified caller of a route that needs a token (null on public routes). */
    auth: Auth | null;
    /** What a mutation acted on, for the audit trail, when it is not the route's id parameter. */
    auditObject: { type: string; id: string } | null;
  }
  interface FastifyContextConfig {
    /** The scope the route needs; null: public, no token. Every route states one (app.ts enforces it). */
    scope?: Scope | null;
    /** The path parameter that names the device the route acts on: a device-limited token must include it. */
    deviceParam?: string;
    /** The route reads or changes the whole fleet: a token limited to some devices may not use it. */
    fleetWide?: boolean;
    /** The audit trail's name for this mutation (`device.revoke`); the object type is its first part. */
    action?: string;
    /**
     * The route takes a raw body of one of these media types (a firmware bundle, a trust document), handed to it as
     * a stream: it bounds what it reads itself. `rawBodyLimit` is the most it reads (published in the document).
     */
    rawBody?: readonly string[];
    rawBodyLimit?: number;
  }
}

export const deny = (status: 401 | 403, reason: DenialReason, message: string) =>
  new ApiError(status, status === 401 ? 'API_UNAUTHENTICATED' : 'API_FORBIDDEN', message, { reason });

export function createAuthenticator(deps: {
  tokens: TokenService;
  /** The registry and sessions are read on every request, uncached: on a cluster, what any node changed applies. */
  operators: OperatorRegistryStore;
  sessions?: DashboardSessionStore;
}) {
  /** A dashboard session: the operator's role as it is now, all its scopes, every device. */
  async function fromSession(req: FastifyRequest, secret: string, sessions: DashboardSessionStore): Promise<Auth> {
    const session = await sessions.session(secret);
    if (!session) throw deny(401, 'session', 'the dashboard session has ended; open a new link (fleet dashboard link)');
    // SameSite=Strict already keeps the cookie off cross-site requests; the token is the second lock, for
    // browsers or proxies that do not honour it. It is only readable by a script of this origin (GET /session).
    if (!SAFE_METHODS.has(req.method) && !csrfMatches(session, req.headers['x-csrf-token'])) {
      throw deny(403, 'csrf', "send the session's CSRF token as x-csrf-token (GET /api/v1/session)");
    }
    const op = await deps.operators.byId(session.operatorId);
    if (!op) throw deny(401, 'operator-unknown', 'the operator of this session no longer exists');
    if (op.status !== 'active') throw deny(401, 'operator-revoked', `operator ${op.name} is revoked`);
    return {
      operatorId: op.id,
      operator: op.name,
      role: op.role,
      scopes: ROLES[op.role],
      devices: null,
      session: { ...session, secret },
    };
  }

  return async function authenticate(req: FastifyRequest): Promise<Auth> {
    const header = req.headers.authorization;
    const cookie = deps.sessions && cookieOf(req.headers.cookie, SESSION_COOKIE);
    if (typeof header !== 'string' && cookie !== undefined && deps.sessions) {
      return fromSession(req, cookie, deps.sessions);
    }
    if (typeof header !== 'string' || !header.startsWith('Bearer ')) {
      throw deny(401, 'no-token', 'send an operator token as "Authorization: Bearer …" (fleet token create)');
    }
    const result = await deps.tokens.verify(header.slice(7).trim());
    if (!result.ok) throw deny(401, result.reason, `the token is refused (${result.reason}); get a new one`);
    const c = result.claims;
    const current = await deps.operators.current(c.operatorId);
    if (!current) throw deny(401, 'operator-unknown', `operator ${c.operator} no longer exists`);
    if (current.status !== 'active') throw deny(401, 'operator-revoked', `operator ${c.operator} is revoked`);
    if (!c.scopes.every((s) => roleAllows(current.role, s))) {
      throw deny(401, 'role-changed', `operator ${c.operator} is now ${current.role}; get a new token`);
    }
    return { operatorId: c.operatorId, operator: c.operator, role: current.role, scopes: c.scopes, devices: c.devices };
  };
}

/** The route-level checks once the caller is known: scope, fleet-wide routes, and the device in the path. */
export function authorize(req: FastifyRequest, auth: Auth): void {
  const { scope, fleetWide, deviceParam } = req.routeOptions.config;
  if (scope && !auth.scopes.includes(scope)) {
    throw deny(403, 'scope', `this route needs the ${scope} scope, which the token does not carry`);
  }
  if (auth.devices && fleetWide) {
    throw deny(403, 'fleet-wide', 'the token is limited to some devices; this route covers the whole fleet');
  }
  if (auth.devices && deviceParam) {
    const id = (req.params as Record<string, unknown>)[deviceParam];
    if (typeof id !== 'string' || !auth.devices.includes(id)) {
      throw deny(403, 'device', 'the token is limited to other devices');
    }
  }
}

/** Whether the caller may see `deviceId` (list routes filter with it). */
export const allowsDevice = (auth: Auth | null, deviceId: string) => !auth?.devices || auth.devices.includes(deviceId);
