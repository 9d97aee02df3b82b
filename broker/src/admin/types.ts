// The fleet's administration, as one contract with two implementations: on the server's database (the API's
// handlers and `fleet … --data DIR` on the server host) and over the operator API (`fleet … --server URL`).
// The CLI prints what these return, so its output is the same whichever side answers.
import type { AuditRow } from '../db/audit.js';
import type { CommandRow } from '../db/commands.js';
import type { OperatorAuditRow } from '../db/operator-audit.js';
import type { DeviceStatus, DeviceSummary } from '../db/registry.js';
import type { Role } from '../api/roles.js';

/** One page of a list, newest or lowest first as each list says; `next` is the cursor of the following page. */
export interface Page<T> {
  readonly items: T[];
  readonly next: string | null;
}

export interface PageQuery {
  readonly limit?: number;
  /** The `next` of the previous page. */
  readonly cursor?: string;
}

/** An operator as the API shows it (the public key is not secret; the credential never leaves its holder). */
export interface OperatorView {
  readonly name: string;
  readonly role: Role;
  readonly kid: string;
  readonly status: 'active' | 'revoked';
  readonly createdAt: string;
  readonly createdBy: string;
  readonly revokedAt: string | null;
  readonly revokedBy: string | null;
}

export interface IssuedCertificate {
  readonly deviceId: string;
  /** PEM. */
  readonly certificate: string;
  readonly ca: string;
  readonly serial: string;
  readonly notAfter: string;
}

export interface DeviceAdmin {
  list(q?: PageQuery & { status?: DeviceStatus }): Promise<Page<DeviceSummary>>;
  get(id: string): Promise<DeviceSummary>;
  /** Registers a device for a key made elsewhere (the CSR proves possession; the CN must be the id). */
  add(req: { id: string; type?: string; csr: string; validityDays?: number }): Promise<IssuedCertificate>;
  renew(id: string, req: { csr: string; validityDays?: number; revokeOld?: boolean }): Promise<IssuedCertificate>;
  /** Revokes the device and all its certificates; `revoked` is false when it already was. */
  revoke(id: string): Promise<{ deviceId: string; revoked: boolean }>;
}

export interface OperatorAdmin {
  list(): Promise<OperatorView[]>;
  /** Registers an operator for an Ed25519 public key (SPKI PEM) its holder made. */
  add(req: { name: string; role: Role; publicKey: string }): Promise<OperatorView>;
  revoke(name: string): Promise<{ name: string; revoked: boolean }>;
}

export interface EnrollmentAdmin {
  createTokens(req: { count: number; ttlSeconds: number; deviceType: string }): Promise<{
    tokens: string[];
    expires: string;
  }>;
}

export interface EventQuery extends PageQuery {
  readonly event?: string;
  readonly deviceId?: string;
}

export interface AuditTrailQuery extends PageQuery {
  readonly operator?: string;
  readonly action?: string;
}

/** The parts of the fleet administration every implementation offers. */
export interface FleetAdmin {
  readonly devices: DeviceAdmin;
  readonly operators: OperatorAdmin;
  readonly enrollment: EnrollmentAdmin;
  /** The security event log (authentication failures, denials, revocations…), newest first. */
  events(q?: EventQuery): Promise<Page<AuditRow>>;
  /** The operator audit trail (who changed what), newest first. */
  auditTrail(q?: AuditTrailQuery): Promise<Page<OperatorAuditRow>>;
  close(): void;
}

export type { AuditRow, CommandRow, DeviceSummary, OperatorAuditRow };
