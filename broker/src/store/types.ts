// The fleet store: one async interface over the fleet's records (registry, ingest, telemetry, reports, commands,
// releases and their bundles, trust documents, rollouts, audit trails, posture history), implemented on SQLite
// (sqlite-store.ts) and PostgreSQL (postgres/).
// Names and record shapes are those of broker/src/db/*: moving a caller onto the store is a rename and an await.
import type { ArrivalPageQuery } from '../db/arrival-order.js';
import type { Role } from '../api/roles.js';
import type { AuditEvent, AuditRow } from '../db/audit.js';
import type { CommandAckRow, CommandRow } from '../db/commands.js';
import type { DashboardSession, LinkRefusal } from '../db/dashboard-sessions.js';
import type { FleetPosture, ReportSummary } from '../db/exposure.js';
import type { StoredAuditRun } from '../db/audit-runs.js';
import type {
  ExpiringRow,
  LowExposureRow,
  RevokedConnectedRow,
  SharedCertificateRow,
  TakeoverRow,
  UnseenRow,
} from '../db/fleet-audit.js';
import type { ReceivedReport } from '../db/exposure-pages.js';
import type { OperatorAuditEntry, OperatorAuditRow } from '../db/operator-audit.js';
import type { Operator, OperatorStatus } from '../db/operators.js';
import type { PostureSnapshot, Resolution } from '../db/posture-snapshots.js';
import type {
  DownloadGrant,
  Rollout,
  RolloutCounts,
  RolloutEvent,
  RolloutRequest,
  RolloutState,
  RolloutView,
} from '../db/rollout-rules.js';
import type { CertificateCheck, CertificateFacts, DeviceStatus, DeviceSummary } from '../db/registry.js';
import type { FleetSample, StoredSample, TelemetryPageQuery } from '../db/telemetry.js';
import type { TokenVerifyKey } from '../db/token-keys.js';
import type { TokenClaim } from '../db/tokens.js';
import type { AuditFinding } from '../fleet/audit-checks.js';
import type { Pruned, Retention } from '../fleet/ingest-retention.js';
import type { StoreItem } from '../fleet/ingest-store.js';
import type { ReleaseRecord, ReleaseView, TrustView } from '../fleet/releases.js';
import type { ExposureReport } from '../../../shared/src/index.js';
import type { StoreTable } from './tables.js';

export type { StoreItem, ReleaseRecord, ArrivalPageQuery, Operator, DashboardSession, TokenVerifyKey };

/** A page of rows in arrival order; `last` is the cursor of the next page (null when the range is done). */
export interface ArrivalPage<T> {
  readonly items: T[];
  readonly last: number | null;
}

/**
 * What a batch write did with one item. `stored` carries the samples newly stored (0 for a message of another
 * kind); `duplicate` was stored before (same samples, or same message id); `refused` wrote nothing of the item:
 * `rejected` is a validation reject, recorded and counted (acknowledged so the device stops resending),
 * `unknown-device` a device the registry does not hold (the foreign key), `unstorable` a message holding a value
 * this engine cannot store (a NUL character in text, on PostgreSQL: one device's bytes never fail the others' batch).
 */
export type BatchOutcome =
  | { readonly outcome: 'stored'; readonly samples: number }
  | { readonly outcome: 'duplicate' }
  | { readonly outcome: 'refused'; readonly reason: 'rejected' | 'unknown-device' | 'unstorable' };

export interface RegistryStore {
  exists(id: string): Promise<boolean>;
  /**
   * Registers a device with its first certificate and, when given, its X25519 sealing public key, atomically
   * (FLEET_STORE_CONSTRAINT if the id is taken).
   */
  addDevice(id: string, deviceType: string, cert: CertificateFacts, now?: number, sealKey?: Uint8Array): Promise<void>;
  /**
   * A renewal, atomically: the new certificate and, when given, a new sealing key; `revokeOld` revokes the older
   * certificates and retires the other sealing keys. Returns the serials it revoked and how many keys it retired.
   */
  renew(
    id: string,
    r: { cert: CertificateFacts; sealKey?: Uint8Array; revokeOld: boolean },
    now?: number,
  ): Promise<{ revokedSerials: string[]; retired: number }>;
  /** FLEET_STORE_CONSTRAINT for an unknown device (the foreign key) or a serial/fingerprint already issued. */
  addCertificate(id: string, cert: CertificateFacts, now?: number): Promise<void>;
  get(id: string): Promise<DeviceSummary | undefined>;
  /** Every device in id order. */
  list(): Promise<DeviceSummary[]>;
  /** Up to `limit` devices with an id above `after` (byte order), of one status or within `ids` (null: any). */
  page(q: {
    after?: string;
    limit: number;
    status?: DeviceStatus;
    ids?: readonly string[] | null;
  }): Promise<DeviceSummary[]>;
  /** The dashboard's device counts. */
  counts(): Promise<{ total: number; active: number; revoked: number; online: number }>;
  /**
   * Active devices whose current certificate (the newest not revoked) ends before `until`: how many, and the
   * `limit` ending soonest.
   */
  expiring(until: number, limit: number): Promise<{ count: number; soonest: ExpiringCertificate[] }>;
  /** Marks the device and its certificates revoked; false when it was not active. */
  revoke(id: string, now?: number): Promise<boolean>;
  checkCertificate(deviceId: string, serial: string, now?: number): Promise<CertificateCheck>;
  revokedDeviceIds(): Promise<Set<string>>;
  /** `node`: the cluster node that holds the device's session (PostgreSQL; a single node's SQLite keeps none). */
  setOnline(id: string, online: boolean, address: string | null, now?: number, node?: string): Promise<void>;
  /** The nodes that hold devices marked online (none on SQLite). */
  onlineNodes(): Promise<string[]>;
  /** Marks offline the devices marked online by these nodes; returns how many. */
  releaseNodes(nodes: readonly string[]): Promise<number>;
  /** The active (unretired) sealing keys of these devices: what opens their sealed messages (fleet/ingest-open.ts). */
  sealKeys(deviceIds: readonly string[]): Promise<DeviceKeyRow[]>;
  /** Devices sealed messages with these keys (having used another, or none, before): seal to them from now. */
  markSealKeysUsed(used: readonly { deviceId: string; kid: Uint8Array; at: number }[]): Promise<void>;
  /**
   * The key the backend seals to: the active key the device last switched to, else (a device that has sealed
   * nothing yet) its newest; undefined for a device with no active key.
   */
  currentSealKey(deviceId: string): Promise<{ kid: Uint8Array; publicKey: Uint8Array } | undefined>;
}

export interface ExpiringCertificate {
  readonly deviceId: string;
  readonly serial: string;
  /** ms since the epoch. */
  readonly notAfter: number;
}

/** Rows received in each of the periods [starts[i], starts[i + 1]), the last one open-ended. */
export type PeriodCounts = (starts: readonly number[]) => Promise<number[]>;

export interface DeviceKeyRow {
  readonly deviceId: string;
  readonly kid: Uint8Array;
  readonly publicKey: Uint8Array;
}

export interface IngestBatchStore {
  /**
   * Writes the items in one transaction and resolves only after it committed (so a PUBACK sent on it is safe),
   * with one outcome per item. Each telemetry sample is stored once per (device, stream, seq): in one batch, across
   * batches and across concurrent writers. Rejects if the transaction failed: then nothing of the batch is kept.
   */
  writeBatch(items: readonly StoreItem[], at: number): Promise<BatchOutcome[]>;
  /**
   * One small retention transaction (fleet/ingest-retention.ts): deletes at most a batch of the telemetry received
   * more than `telemetryDays` before `now` (the newest row stays; each stream keeps the highest seq deleted, so a
   * resend of a deleted sample is a duplicate) and of the exposure reports beyond each device's newest
   * `reportsPerDevice`, with their findings. `more`: more is due now. On a cluster one node at a time deletes.
   */
  prune(retention: Retention, now: number): Promise<Pruned>;
}

export interface TelemetryStore {
  /** Up to `limit` samples of the device in arrival order after the `after` cursor; `last` is the next cursor. */
  page(q: TelemetryPageQuery): Promise<ArrivalPage<StoredSample>>;
  /** Every device's (or `devices'`) samples received in [from, to), oldest first, after the `after` cursor. */
  fleetPage(q: ArrivalPageQuery): Promise<ArrivalPage<FleetSample>>;
  /** Samples received per period (the dashboard's per-hour chart). */
  countPerPeriod: PeriodCounts;
}

export interface ReportStore {
  latest(deviceId: string): Promise<{ report: ExposureReport; receivedAt: string } | undefined>;
  /** Newest first. */
  history(deviceId: string, limit?: number): Promise<ReportSummary[]>;
  /** Summaries of the reports received in [from, to), oldest first, after the `after` cursor. */
  received(q: ArrivalPageQuery): Promise<ArrivalPage<ReceivedReport>>;
  /** The fleet's posture from each active device's latest report. */
  posture(worst: number): Promise<FleetPosture>;
}

export interface NewCommand {
  readonly id: string;
  readonly deviceId: string;
  readonly command: string;
  readonly params: unknown;
  readonly operator: string;
  readonly counter: number;
  readonly envelope: Uint8Array;
  readonly createdAt: number;
  readonly expiresAt: number;
}

export interface CommandStore {
  /** The last counter reserved for an operator key (0: none). */
  reservedCounter(kid: string): Promise<number>;
  /** Whether a command signed by this key with this counter was queued already. */
  counterUsed(kid: string, counter: number): Promise<boolean>;
  /** Reserves the next counter of an operator key (strictly increasing, 1 first). */
  nextCounter(kid: string): Promise<number>;
  add(c: NewCommand): Promise<void>;
  get(id: string): Promise<CommandRow | undefined>;
  /** Newest first, of one device or (null) all. */
  list(deviceId: string | null, limit?: number): Promise<CommandRow[]>;
  /** Open (unacknowledged, unexpired) commands of a device, in signing order. */
  openFor(deviceId: string, now?: number): Promise<{ id: string; envelope: Uint8Array }[]>;
  markSent(id: string, now?: number): Promise<void>;
  /** The devices with commands never sent yet (unexpired). */
  devicesWithPending(now?: number): Promise<string[]>;
  /** Marks open commands past their expiry; returns how many. */
  expire(now?: number): Promise<number>;
  /** A command's acknowledgements by its own device, oldest first. */
  acks(q: {
    cmdId: string;
    deviceId: string;
    after?: number;
    limit: number;
  }): Promise<{ n: number; ack: CommandAckRow }[]>;
}

export interface ReleaseStore {
  /**
   * Records a verified release with its bundle, the file `bundle` (FLEET_RELEASE_CONFLICT when the hardware already
   * has a release with this sequence, or the id is taken; FLEET_STORE_CONSTRAINT when the file's SHA-256 or size is
   * not the release's). A recorded release always has its bytes: SQLite keeps them as the data folder's
   * releases/{id}.ewfw (placed there first), PostgreSQL in release_chunks in the row's own transaction.
   */
  record(r: ReleaseRecord, bundle: string): Promise<void>;
  /** Newest first. */
  list(): Promise<ReleaseView[]>;
  /** By the full id (64 hex) or a prefix of at least 8: FLEET_RELEASE_UNKNOWN / FLEET_RELEASE_AMBIGUOUS. */
  get(idOrPrefix: string): Promise<ReleaseView>;
  /**
   * A recorded release's bundle bytes in order, a bounded chunk at a time (bundles may be up to 1 GiB): never the
   * whole bundle in memory. FLEET_RELEASE_UNKNOWN for another id.
   */
  bundle(id: string): AsyncIterable<Uint8Array>;
  /** The installed trust documents, oldest first: the chain a device walks (they go into update offers). */
  trustDocuments(): Promise<Uint8Array[]>;
  listTrust(): Promise<TrustView[]>;
  /**
   * Installs a trust document: the first one when it verifies on its own, each later one when it chains from the
   * newest installed (fleet/releases.ts trustToInstall). The same document again is not an error (`installed`
   * false); of two installed at once, one is installed first and the other must chain from it.
   */
  installTrust(
    document: Uint8Array,
    by: string | null,
    now?: number,
  ): Promise<{ trust: TrustView; installed: boolean }>;
}

/**
 * Staged rollouts (db/rollouts.ts on SQLite, store/postgres/rollouts.ts): what the engine (fleet/rollouts.ts), the
 * operators' API and the download listener read and write. Several engines may run at once (one per cluster node):
 * moves are conditional on the state or stage read, so of two the second does nothing.
 */
export interface RolloutStore {
  /**
   * Creates a running rollout at stage 0; FLEET_ROLLOUT_INVALID for an empty selection, FLEET_ROLLOUT_CONFLICT for
   * devices in another open rollout (also when another rollout takes them at the same time).
   */
  create(req: RolloutRequest, actor: string | null, now: number): Promise<number>;
  /** FLEET_ROLLOUT_UNKNOWN for an unknown id. */
  get(id: number): Promise<Rollout>;
  view(id: number, opts?: { devices?: boolean }): Promise<RolloutView>;
  /** Newest first. */
  list(limit?: number): Promise<RolloutView[]>;
  runningIds(): Promise<number[]>;
  counts(id: number): Promise<RolloutCounts>;
  /** Devices among the first `positions` that committed. */
  committedBelow(id: number, positions: number): Promise<number>;
  /** Failure reason codes and how many devices reported each, most first. */
  failures(id: number): Promise<{ reasonCode: string; devices: number }[]>;
  /** Pending devices among the first `positions`, in position order. */
  pendingBelow(id: number, positions: number): Promise<string[]>;
  /**
   * Moves a rollout by `event` if the table allows it from its current state, and only from that state; returns
   * the new state. FLEET_ROLLOUT_STATE when it cannot, also when another caller moved it first.
   */
  transition(id: number, event: RolloutEvent, now: number, haltReason?: string): Promise<RolloutState>;
  /** Starts the next stage, only from stage `r.stage` of a running rollout: false when that was not so any more. */
  advanceStage(r: Rollout, now: number): Promise<boolean>;
  /** Records download authorisations (hashes only) in one commit; returns the devices whose row took it. */
  offer(
    rolloutId: number,
    offers: readonly { deviceId: string; tokenHash: Buffer; expires: number }[],
    now: number,
  ): Promise<Set<string>>;
  /**
   * What a device (re)subscribing to its update topic is due, in one read (every CONNECT asks): `inProgress`, the
   * rollouts it is on its way through (Offered … HealthCheck); `cancelled`, the aborted rollouts whose offer to it
   * was withdrawn while its authorisation would still be valid.
   */
  dueFor(deviceId: string, now: number): Promise<{ inProgress: number[]; cancelled: number[] }>;
  cancelledDevices(now: number): Promise<{ rolloutId: number; deviceId: string }[]>;
  /** The installed trust documents, oldest first (at most the newest `max`): what offers carry. */
  trustDocuments(max: number): Promise<Uint8Array[]>;
  /** The rollout rows a download token's SHA-256 authorises. */
  grants(tokenHash: Buffer): Promise<DownloadGrant[]>;
}

export interface AuditStore {
  /** Appends a security event (at: now). The table refuses UPDATE and DELETE. */
  record(e: AuditEvent, at?: number): Promise<void>;
  /** Newest first, optionally of one event. */
  recent(limit?: number, event?: string | null): Promise<AuditRow[]>;
  /** Newest first, with an id below `before`, at or after `since`, of one event, device or set of devices. */
  page(q: AuditPageQuery): Promise<AuditRow[]>;
  /** Events recorded per period (the dashboard's per-hour chart). */
  countPerPeriod: PeriodCounts;
}

export interface AuditPageQuery {
  readonly before?: number;
  readonly since?: number;
  readonly event?: string | null;
  readonly deviceId?: string | null;
  /** Only these devices' events (a device-limited caller); null: all. */
  readonly devices?: readonly string[] | null;
  readonly limit: number;
}

export interface OperatorAuditStore {
  /** Appends an entry; returns its id. */
  record(e: OperatorAuditEntry, at?: number): Promise<number>;
  /** Newest first, below `before`. */
  page(q: { before?: number; limit: number; operator?: string; action?: string }): Promise<OperatorAuditRow[]>;
}

export interface PostureStore {
  /** Stores a period's snapshot, replacing the period's row if there was one. */
  store(s: PostureSnapshot, computedAt: number): Promise<void>;
  /** The snapshots of periods starting in [from, to), oldest first. */
  read(resolution: Resolution, from: number, to: number): Promise<PostureSnapshot[]>;
  /**
   * The posture over [start, start + one period) from the reports stored now: each active device (not revoked
   * before the period's end) by its latest report received before the end (db/posture-snapshots.ts).
   */
  compute(resolution: Resolution, start: number): Promise<PostureSnapshot>;
  /** The starts of the stored periods in [from, to) (the snapshotter's "what is missing"). */
  starts(resolution: Resolution, from: number, to: number): Promise<number[]>;
  /** The stamp of the earliest stored report, about (the first rows in arrival order); null: none. */
  firstReportAt(): Promise<number | null>;
  /** Deletes the hourly snapshots of periods starting before `before`; returns how many. */
  pruneHours(before: number): Promise<number>;
}

/** Enrolment tokens (db/tokens.ts): only their SHA-256 hashes are stored; each is claimed at most once. */
export interface EnrollTokenStore {
  /** Makes `count` tokens; returns them in clear (the only time they exist in clear). */
  create(
    count: number,
    ttlMs: number,
    deviceType: string,
    now?: number,
  ): Promise<{ tokens: string[]; expires: number }>;
  /** Burns the token for `deviceId` if it is valid, unused and unexpired: of concurrent claims (any node) one wins. */
  claim(token: string, deviceId: string, now?: number): Promise<TokenClaim>;
}

/**
 * The operator registry (db/operators.ts): who may use the management plane, by name and Ed25519 key. Names and key
 * ids are unique by schema, so of two nodes adding the same name at once one wins; a revoked operator stays.
 */
export interface OperatorRegistryStore {
  /** Registers an operator; FLEET_STORE_CONSTRAINT when its name or key is taken (also by a concurrent add). */
  add(
    op: { name: string; kid: string; publicKey: string; role: Role; createdBy: string },
    now?: number,
  ): Promise<Operator>;
  byName(name: string): Promise<Operator | undefined>;
  byKid(kid: string): Promise<Operator | undefined>;
  byId(id: number): Promise<Operator | undefined>;
  /** In name order. */
  list(): Promise<Operator[]>;
  /**
   * Revokes an active operator; false when there is no such active operator. FLEET_LAST_ADMIN when it is the last
   * active admin: checked in the revoking transaction, so two nodes revoking the last two admins at once cannot
   * both succeed.
   */
  revoke(name: string, by: string, now?: number): Promise<boolean>;
  activeAdmins(): Promise<number>;
  /** The operator's current status and role: read on every request, so a revocation applies to the next one. */
  current(id: number): Promise<{ status: OperatorStatus; role: Role } | undefined>;
}

/**
 * The dashboard's one-time links and sessions (db/dashboard-sessions.ts): only SHA-256 hashes of their secrets are
 * stored. A link is spent by one conditional update, so of two nodes redeeming it at once one starts a session.
 */
export interface DashboardSessionStore {
  /** A new one-time link secret for the operator (shown once: only its hash is kept). */
  createLink(operatorId: number, now?: number): Promise<{ secret: string; expiresAt: number }>;
  /** Spends a link and starts a session; refused links say why. */
  redeem(
    secret: string,
    now?: number,
  ): Promise<
    { ok: true; secret: string; session: DashboardSession } | { ok: false; reason: LinkRefusal; operatorId?: number }
  >;
  /** The live session a cookie names, or undefined (unknown, ended or expired). */
  session(secret: string, now?: number): Promise<DashboardSession | undefined>;
  /** Logout: the session's cookie opens nothing from now on, through any node. */
  end(secret: string, now?: number): Promise<boolean>;
}

/**
 * The public halves of the keys that sign API tokens (db/token-keys.ts), so that a token signed by one node verifies
 * on every other. The private halves stay where they were made: each node's data folder (or its HSM) signs.
 */
export interface TokenKeyStore {
  /**
   * Makes a verification key known; a kid known already keeps its first key. `createdAt` is when a node last vouched
   * for the key: publishing the same key again with a later time moves it forward (a node signing with a key
   * publishes it again while it signs), so prune() never removes a key under a live token. FLEET_STORE_CONSTRAINT
   * for a kid that is not 16 lower-case hex digits.
   */
  publish(key: TokenVerifyKey): Promise<void>;
  get(kid: string): Promise<TokenVerifyKey | undefined>;
  /** Removes the keys last vouched for before `before` (ms since the epoch); how many it removed. */
  prune(before: number): Promise<number>;
}

/** What the fleet audit's checks (fleet/audit-checks.ts) read: each check's rows, its rules applied by the caller. */
export interface FleetAuditReads {
  /** Active devices whose newest unrevoked certificate ends before `until`, soonest first. */
  expiringCertificates(until: number): Promise<ExpiringRow[]>;
  /** Revoked devices with a session opened since the revocation still open (the connection history), or online. */
  revokedConnected(): Promise<RevokedConnectedRow[]>;
  /** Overlapping sessions of one certificate from two addresses, the second opened in (since, now]; newest first. */
  sharedCertificates(since: number, now: number): Promise<SharedCertificateRow[]>;
  /** Session takeovers (security events) per device after `since`, most first. */
  takeovers(since: number): Promise<TakeoverRow[]>;
  /** Active devices offline and last seen (never seen: registered) before `before`, in id order. */
  unseenSince(before: number): Promise<UnseenRow[]>;
  /** Devices whose latest exposure report scores below `below`, lowest first. */
  lowExposure(below: number): Promise<LowExposureRow[]>;
}

/** The fleet audit's reads and its stored runs (audit_runs, audit_findings). */
export interface FleetAuditStore extends FleetAuditReads {
  /** Stores a run with its findings, in their order, in one transaction. */
  saveRun(findings: readonly AuditFinding[], at: number): Promise<void>;
  /** The latest run stored (by any node), its findings in their order; undefined before the first. */
  latestRun(): Promise<StoredAuditRun | undefined>;
}

/**
 * The connection history (one row per admitted session) of cluster nodes on the shared store. A session's row is
 * named by (node, device, connectedAt), which the node keeps unique among its open rows (cluster/store-connections.ts),
 * so a close needs no id back from the store and an open costs no round trip of its own.
 */
export interface ConnectionStore {
  /** Writes sessions opened and closed, in the order called; calls made while one write is under way go together. */
  record(change: ConnectionChange): Promise<void>;
  /** The nodes holding rows still open. */
  openNodes(): Promise<string[]>;
  /**
   * Closes at `at` the rows still open of these nodes (a node's own at its start, a dead node's in the presence
   * sweep) and those of no node (copied from a stopped single server); returns how many.
   */
  closeNodes(nodes: readonly string[], at: number): Promise<number>;
}

export type ConnectionChange =
  | {
      readonly kind: 'opened';
      readonly node: string;
      readonly deviceId: string;
      readonly serial: string;
      readonly address: string | null;
      readonly connectedAt: number;
    }
  | {
      readonly kind: 'closed';
      readonly node: string;
      readonly deviceId: string;
      readonly connectedAt: number;
      readonly at: number;
    };

export interface FleetStore {
  /** 'sqlite' or 'postgres': for messages and metrics, never for branching callers. */
  readonly engine: 'sqlite' | 'postgres';
  /** Applies pending migrations (FLEET_DB_MIGRATION when the schema is newer than this build). */
  migrate(): Promise<void>;
  schemaVersion(): Promise<number>;
  /** Rows per table of the fleet's records (what `fleet store migrate` compares). */
  counts(): Promise<Record<StoreTable, number>>;
  close(): Promise<void>;
  readonly registry: RegistryStore;
  readonly ingest: IngestBatchStore;
  readonly telemetry: TelemetryStore;
  readonly reports: ReportStore;
  readonly commands: CommandStore;
  readonly releases: ReleaseStore;
  readonly rollouts: RolloutStore;
  readonly audit: AuditStore;
  readonly operatorAudit: OperatorAuditStore;
  readonly posture: PostureStore;
  readonly enrollTokens: EnrollTokenStore;
  readonly operators: OperatorRegistryStore;
  readonly dashboardSessions: DashboardSessionStore;
  readonly tokenKeys: TokenKeyStore;
  readonly fleetAudit: FleetAuditStore;
  readonly connections: ConnectionStore;
}
