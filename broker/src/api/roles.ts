// Operator roles and the scopes each may use: the one table the API enforces, docs/operator-api.md lists and the
// route × role test reads. Roles nest: each has what the one before it has, and more.

/** What a token may do. A route names the one scope it needs (in the OpenAPI document, `security`). */
export const SCOPES = {
  'devices:read': 'List and show devices, their certificates and connection state.',
  'telemetry:read': "Read devices' telemetry.",
  'reports:read': 'Read exposure reports, fleet posture and its history.',
  'commands:read': 'List signed commands and follow their status.',
  'events:read': 'Read the security event log and the fleet audit (checks).',
  'commands:send': 'Submit commands signed with the operator key.',
  'releases:write': 'Publish firmware releases and manage rollouts.',
  'devices:write': 'Register, renew and revoke devices.',
  'enrollment:write': 'Create enrolment tokens.',
  'operators:read': 'List operators and their roles.',
  'operators:write': 'Add and revoke operators.',
  'audit:read': 'Read the operator audit trail (who changed what).',
} as const;

export type Scope = keyof typeof SCOPES;
export const ALL_SCOPES = Object.keys(SCOPES) as Scope[];

const VIEWER: readonly Scope[] = ['devices:read', 'telemetry:read', 'reports:read', 'commands:read', 'events:read'];
const OPERATOR: readonly Scope[] = [...VIEWER, 'commands:send'];
const RELEASE_MANAGER: readonly Scope[] = [...OPERATOR, 'releases:write'];
const ADMIN: readonly Scope[] = ALL_SCOPES;

/** Role → the scopes it allows. viewer reads; operator also sends commands; release-manager also manages
 * firmware releases and rollouts; admin also manages devices, enrolment tokens and operators, and reads the audit. */
export const ROLES = {
  viewer: VIEWER,
  operator: OPERATOR,
  'release-manager': RELEASE_MANAGER,
  admin: ADMIN,
} as const satisfies Record<string, readonly Scope[]>;

export type Role = keyof typeof ROLES;
export const ROLE_NAMES = Object.keys(ROLES) as Role[];

export const isRole = (v: unknown): v is Role => typeof v === 'string' && Object.hasOwn(ROLES, v);
export const isScope = (v: unknown): v is Scope => typeof v === 'string' && Object.hasOwn(SCOPES, v);

export function roleAllows(role: Role, scope: Scope): boolean {
  return ROLES[role].includes(scope);
}

/**
 * The scopes a token gets: what was asked for (all of the role's when nothing was), never more than the role
 * allows. Returns the scopes the role does not allow as `refused` so the caller can say which.
 */
export function narrowScopes(role: Role, asked: readonly string[] | undefined): { scopes: Scope[]; refused: string[] } {
  if (!asked || asked.length === 0) return { scopes: [...ROLES[role]], refused: [] };
  const refused = asked.filter((s) => !isScope(s) || !roleAllows(role, s));
  const scopes = ALL_SCOPES.filter((s) => asked.includes(s) && roleAllows(role, s));
  return { scopes, refused };
}
