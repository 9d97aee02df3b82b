// The fleet's administration, as one contract with two implementations: on the server's database (the API's
// handlers and `fleet … --data DIR` on the server host) and over the operator API (`fleet … --server URL`).
// The CLI prints what these return, so its output is the same whichever side answers.
import type { ExposureReport } from '../../../shared/src/index.js';
import type { AuditRow } from '../db/audit.js';
import type { CommandAckRow, CommandRow } from '../db/commands.js';
import type { FleetPosture, ReportSummary } from '../db/exposure.js';
import type { ReceivedReport } from '../db/exposure-pages.js';
import type { OperatorAuditRow } from '../db/operator-audit.js';
import type { PostureHistory, PosturePeriod } from '../db/posture-history.js';
import type { DeviceStatus, DeviceSummary } from '../db/registry.js';
import type { FleetSample, StoredSample } from '../db/telemetry.js';
import type { AuditFinding } from '../fleet/audit-checks.js';
import type { Role } from '../api/roles.js';
import type { RolloutRequest, RolloutView } from '../db/rollout-rules.js';
import type { PublishResult, ReleaseView, TrustView } from '../fleet/releases.js';
import type { Readable } from 'node:stream';

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
  /**
   * The backend's X25519 sealing public key (SPKI PEM), for the device's backend-seal.pub: what the device seals
   * its messages for. Given when the request registered a sealing key.
   */
  readonly backendSealKey?: string;
}

export interface DeviceAdmin {
  list(q?: PageQuery & { status?: DeviceStatus }): Promise<Page<DeviceSummary>>;
  get(id: string): Promise<DeviceSummary>;
  /** Registers a device for a key made elsewhere (the CSR proves possession; the CN must be the id). */
  /** `sealKey`: the device's X25519 sealing public key (SPKI PEM), made with its TLS key; registered with it. */
  add(req: {
    id: string;
    type?: string;
    csr: string;
    validityDays?: number;
    sealKey?: string;
  }): Promise<IssuedCertificate>;
  /**
   * A new certificate for the device's CSR; `sealKey` also registers a new sealing key (a rotation: the backend seals
   * to it once the device uses it). `revokeOld` revokes the older certificates and retires the older sealing keys.
   */
  renew(
    id: string,
    req: { csr: string; validityDays?: number; revokeOld?: boolean; sealKey?: string },
  ): Promise<IssuedCertificate>;
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
  /** Recorded at or after this time (ISO 8601). */
  readonly since?: string;
}

export interface AuditTrailQuery extends PageQuery {
  readonly operator?: string;
  readonly action?: string;
}

/** What the server received in a time range, in arrival order. */
export interface RangeQuery extends PageQuery {
  /** Received at or after this time (ISO 8601). */
  readonly from?: string;
  /** Received before this time (ISO 8601). */
  readonly to?: string;
}

export type TelemetryQuery = RangeQuery;

/** A device's latest exposure report and its score history, newest first (`fleet report --json`). */
export interface DeviceReport {
  readonly deviceId: string;
  readonly latest: ExposureReport | null;
  readonly receivedAt: string | null;
  readonly history: ReportSummary[];
}

/** The fleet's posture from each device's latest report (`fleet posture --json`). */
export type Posture = FleetPosture;

export interface ReportAdmin {
  report(deviceId: string, q?: { history?: number }): Promise<DeviceReport>;
  posture(q?: { worst?: number }): Promise<Posture>;
  /**
   * The posture per UTC day or hour, oldest first, from the period holding `since` (ISO 8601; by default 30 days
   * or 48 hours ago, at most 366 days or 168 hours) through the current one (db/posture-history.ts).
   */
  /** `checks: false` leaves out each period's per-check counts (most of its size). */
  postureHistory(q?: { resolution?: 'day' | 'hour'; since?: string; checks?: boolean }): Promise<PostureHistory>;
  /** Summaries of the reports every visible device sent, received in a time range, oldest first. */
  received(q?: RangeQuery): Promise<Page<ReceivedReport>>;
}

/** One run of the fleet audit's checks (`fleet audit --json`). */
export interface FleetAuditRun {
  readonly at: string;
  readonly findings: AuditFinding[];
}

export interface FleetAuditAdmin {
  /** Runs every check now and stores the run (audit_runs) for the dashboard. */
  run(): Promise<FleetAuditRun>;
  /** The latest stored run; null before the first. */
  latest(): Promise<FleetAuditRun | null>;
}

export interface CommandQuery extends PageQuery {
  readonly deviceId?: string;
}

export interface CommandAdmin {
  /**
   * Reserves the next counter of a signing key (strictly increasing across every device). Through the API it is
   * always the operator's own key; on the server host (--data) it is the key `kid` names, any the devices trust.
   */
  reserveCounter(kid?: string): Promise<{ kid: string; counter: number }>;
  /**
   * Queues a signed command envelope for the device after checking it (admin/command-submit.ts): it decodes, is
   * for this device, valid, unexpired, its counter reserved and unused, and, through the API, signed with the
   * submitting operator's registered key.
   */
  submit(deviceId: string, envelope: Uint8Array): Promise<CommandRow>;
  /** Newest first. */
  list(q?: CommandQuery): Promise<Page<CommandRow>>;
  get(cmdId: string): Promise<CommandRow>;
  /** The acknowledgements the command's device sent for it, oldest first. */
  acks(cmdId: string, q?: PageQuery): Promise<Page<CommandAckRow>>;
}

/** The dashboard overview's counts (GET /api/v1/overview; the route adds the live connection count). */
export interface FleetOverview {
  readonly at: string;
  readonly devices: { total: number; active: number; revoked: number; online: number; offline: number };
  /** Active devices whose certificate ends within `withinDays` (the config's audit.expiringWithinDays). */
  readonly certificates: {
    withinDays: number;
    expiring: number;
    soonest: { deviceId: string; serial: string; notAfter: string }[];
  };
}

/** A one-time dashboard login link: open `path` on the server's HTTPS address within five minutes. */
export interface DashboardLink {
  readonly operator: string;
  readonly role: Role;
  /** `/login?t=…`: the secret is shown once. */
  readonly path: string;
  readonly expiresAt: string;
}

export interface DashboardAdmin {
  overview(): Promise<FleetOverview>;
  /** Samples received per hour: the last `hours` whole hours and the current one, oldest first. */
  telemetryPerHour(hours: number): Promise<{ hour: string; samples: number }[]>;
  /** Security events recorded per hour, likewise. */
  eventsPerHour(hours: number): Promise<{ hour: string; events: number }[]>;
  /** A login link for the operator (on the host: any active operator; through the API: the caller). */
  link(operator: string): Promise<DashboardLink>;
}

/** Staged rollouts of a release (db/rollouts.ts, fleet/rollouts.ts; docs/updates.md#rollouts). */
export interface RolloutAdmin {
  /** Creates a running rollout; FLEET_ROLLOUT_INVALID, FLEET_ROLLOUT_CONFLICT or FLEET_RELEASE_UNKNOWN refuse it. */
  create(req: RolloutRequest): Promise<RolloutView>;
  /** Newest first. */
  list(q?: { limit?: number }): Promise<RolloutView[]>;
  /** With `devices`, each device's position, stage and state too. */
  get(id: number, q?: { devices?: boolean }): Promise<RolloutView>;
  /** No new offers; devices already updating carry on. */
  pause(id: number): Promise<RolloutView>;
  /** A paused or halted rollout runs again (a halted one accepts the failures so far). */
  resume(id: number): Promise<RolloutView>;
  /** Ends the rollout: devices that have not started installing are sent a cancel. */
  abort(id: number): Promise<RolloutView>;
}

/** A firmware bundle to publish: a file (streamed from disk), or a stream (the API's request body). */
export type BundleSource =
  | { readonly path: string }
  | { readonly stream: Readable | AsyncIterable<Uint8Array>; readonly length?: number };

export interface ReleaseAdmin {
  /**
   * Streams the bundle to the server, which verifies it against the installed trust chain before it becomes a
   * release (refused with the verifier's FW_* code otherwise); the same bundle again gives the existing release.
   */
  publish(source: BundleSource): Promise<PublishResult>;
  /** Newest first. */
  list(): Promise<ReleaseView[]>;
  /** By id or a unique prefix of at least 8 hex characters. */
  get(idOrPrefix: string): Promise<ReleaseView>;
}

export interface TrustAdmin {
  /** Installs the fleet's first trust document (the anchor), or the next one in its chain (fleet/releases.ts). */
  set(document: Uint8Array): Promise<{ trust: TrustView; installed: boolean }>;
  /** The installed documents, oldest first. */
  list(): Promise<TrustView[]>;
}

/** The parts of the fleet administration every implementation offers. */
export interface FleetAdmin {
  readonly devices: DeviceAdmin;
  readonly operators: OperatorAdmin;
  readonly enrollment: EnrollmentAdmin;
  readonly reports: ReportAdmin;
  readonly fleetAudit: FleetAuditAdmin;
  readonly commands: CommandAdmin;
  readonly dashboard: DashboardAdmin;
  readonly rollouts: RolloutAdmin;
  readonly releases: ReleaseAdmin;
  readonly trust: TrustAdmin;
  /** A device's samples received in a time range, oldest first. */
  telemetry(deviceId: string, q?: TelemetryQuery): Promise<Page<StoredSample>>;
  /** Every visible device's samples received in a time range, in arrival order. */
  fleetTelemetry(q?: RangeQuery): Promise<Page<FleetSample>>;
  /** The security event log (authentication failures, denials, revocations…), newest first. */
  events(q?: EventQuery): Promise<Page<AuditRow>>;
  /** The operator audit trail (who changed what), newest first. */
  auditTrail(q?: AuditTrailQuery): Promise<Page<OperatorAuditRow>>;
  close(): void;
}

export type {
  AuditFinding,
  AuditRow,
  CommandAckRow,
  CommandRow,
  FleetSample,
  DeviceSummary,
  OperatorAuditRow,
  PostureHistory,
  PosturePeriod,
  PublishResult,
  ReceivedReport,
  ReleaseView,
  TrustView,
  ReportSummary,
  RolloutRequest,
  RolloutView,
  StoredSample,
};
