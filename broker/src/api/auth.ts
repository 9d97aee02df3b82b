// Who is calling, and may they: the bearer token is verified (signature, fleet, expiry), its operator must still
// be active with a role that still allows the token's scopes (read on every request, so a revocation or a
// demotion applies to the next request), and the route's scope and device limits must be within the token.
import type { FastifyRequest } from 'fastify';
import type { OperatorStore } from '../db/operators.js';
import type { TokenFailure, TokenService } from './access-tokens.js';
import { ApiError } from './errors.js';
import { roleAllows, type Role, type Scope } from './roles.js';

export interface Auth {
  readonly operatorId: number;
  readonly operator: string;
  readonly role: Role;
  readonly scopes: readonly Scope[];
  /** null: every device. */
  readonly devices: readonly string[] | null;
}

/** Why a request was refused before its handler ran; each is a security event. */
export type DenialReason =
  | 'no-token'
  | TokenFailure
  | 'operator-revoked'
  | 'operator-unknown'
  | 'role-changed'
  | 'scope'
  | 'device'
  | 'fleet-wide';

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
  }
}

export const deny = (status: 401 | 403, reason: DenialReason, message: string) =>
  new ApiError(status, status === 401 ? 'API_UNAUTHENTICATED' : 'API_FORBIDDEN', message, { reason });

export function createAuthenticator(deps: { tokens: TokenService; operators: OperatorStore }) {
  return async function authenticate(req: FastifyRequest): Promise<Auth> {
    const header = req.headers.authorization;
    if (typeof header !== 'string' || !header.startsWith('Bearer ')) {
      throw deny(401, 'no-token', 'send an operator token as "Authorization: Bearer …" (fleet token create)');
    }
    const result = await deps.tokens.verify(header.slice(7).trim());
    if (!result.ok) throw deny(401, result.reason, `the token is refused (${result.reason}); get a new one`);
    const c = result.claims;
    const current = deps.operators.current(c.operatorId);
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
