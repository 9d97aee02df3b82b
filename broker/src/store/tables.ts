// The tables of the fleet's records that both engines hold, in foreign-key order (a table after those it refers
// to), with their columns under the same names: what counts() reports and `fleet store migrate` copies.
export interface TableSpec {
  readonly name: string;
  readonly columns: readonly string[];
  /** A generated key column whose sequence must be moved past copied rows (PostgreSQL identity). */
  readonly identity?: string;
  /** Where a column is read from on SQLite when it is not a column of that name (commands.n is the rowid). */
  readonly sqliteSource?: Readonly<Record<string, string>>;
}

export const STORE_TABLES = [
  {
    name: 'devices',
    columns: [
      'id',
      'device_type',
      'status',
      'created_at',
      'revoked_at',
      'last_seen',
      'last_address',
      'online',
      'agent_version',
      'firmware_version',
      'telemetry_count',
      'rejected_count',
      'exposure_score',
      'exposure_grade',
      'dropped',
      'hardware',
    ],
  },
  {
    name: 'certificates',
    columns: ['serial', 'device_id', 'fingerprint', 'not_before', 'not_after', 'issued_at', 'revoked_at'],
  },
  { name: 'device_keys', columns: ['device_id', 'key_id', 'public_key', 'created_at', 'retired_at', 'used_at'] },
  {
    name: 'operators',
    columns: [
      'id',
      'name',
      'kid',
      'public_key',
      'role',
      'status',
      'created_at',
      'created_by',
      'revoked_at',
      'revoked_by',
    ],
    identity: 'id',
  },
  { name: 'dashboard_links', columns: ['hash', 'operator_id', 'created_at', 'expires_at', 'used_at'] },
  {
    name: 'dashboard_sessions',
    columns: ['hash', 'operator_id', 'csrf', 'created_at', 'expires_at', 'ended_at'],
  },
  // The public halves only: a private key is not copied into another database (each node signs with its own).
  { name: 'token_keys', columns: ['kid', 'public_key', 'created_at'] },
  { name: 'messages', columns: ['device_id', 'msg_id', 'kind', 'received_at', 'device_ts'] },
  {
    name: 'telemetry',
    columns: ['id', 'device_id', 'stream', 'seq', 'device_ts', 'received_at', 'metrics'],
    identity: 'id',
  },
  { name: 'telemetry_pruned', columns: ['device_id', 'stream', 'through_seq', 'pruned_at'] },
  {
    name: 'status_history',
    columns: ['id', 'device_id', 'state', 'device_ts', 'received_at', 'agent_version'],
    identity: 'id',
  },
  {
    name: 'ingest_rejects',
    columns: ['id', 'device_id', 'minute', 'code', 'count', 'at', 'last_at', 'topic', 'message', 'size'],
    identity: 'id',
  },
  { name: 'operator_counters', columns: ['kid', 'counter'] },
  {
    name: 'commands',
    columns: [
      'n',
      'id',
      'device_id',
      'command',
      'params',
      'operator',
      'counter',
      'envelope',
      'created_at',
      'expires_at',
      'status',
      'reason',
      'detail',
      'attempts',
      'sent_at',
      'acked_at',
    ],
    identity: 'n',
    sqliteSource: { n: 'rowid' },
  },
  {
    name: 'command_acks',
    columns: ['id', 'device_id', 'cmd_id', 'status', 'reason', 'detail', 'device_ts', 'received_at'],
    identity: 'id',
  },
  {
    name: 'exposure_reports',
    columns: [
      'id',
      'device_id',
      'msg_id',
      'device_ts',
      'received_at',
      'scoring_version',
      'score',
      'grade',
      'categories',
      'services',
      'findings',
      'report',
    ],
    identity: 'id',
  },
  { name: 'exposure_findings', columns: ['report_id', 'device_id', 'check_id', 'severity', 'port', 'title'] },
  { name: 'audit', columns: ['id', 'at', 'event', 'device_id', 'address', 'actor', 'detail'], identity: 'id' },
  {
    name: 'operator_audit',
    columns: [
      'id',
      'at',
      'operator',
      'role',
      'action',
      'object_type',
      'object_id',
      'address',
      'via',
      'outcome',
      'status',
      'detail',
    ],
    identity: 'id',
  },
  { name: 'trust_documents', columns: ['version', 'document', 'sha256', 'installed_at', 'installed_by'] },
  {
    name: 'releases',
    columns: [
      'id',
      'hardware',
      'version',
      'sequence',
      'size',
      'payload_size',
      'payload_sha256',
      'manifest',
      'signers',
      'expires_at',
      'published_at',
      'published_by',
    ],
  },
  {
    name: 'rollouts',
    columns: [
      'id',
      'release_id',
      'selector',
      'stages',
      'success_threshold',
      'error_threshold',
      'min_wait_ms',
      'state',
      'stage',
      'stage_started_at',
      'stage_times',
      'halt_reason',
      'accepted_offered',
      'accepted_errors',
      'created_at',
      'created_by',
      'updated_at',
    ],
    identity: 'id',
  },
  {
    name: 'rollout_devices',
    columns: [
      'rollout_id',
      'device_id',
      'position',
      'state',
      'token_hash',
      'token_expires',
      'offered_at',
      'updated_at',
      'reason_code',
      'reason',
    ],
  },
  {
    name: 'update_status',
    columns: [
      'id',
      'device_id',
      'message_id',
      'rollout_id',
      'release_id',
      'state',
      'done',
      'total',
      'reason_code',
      'reason',
      'device_ts',
      'received_at',
    ],
    identity: 'id',
  },
  {
    name: 'posture_snapshots',
    columns: [
      'resolution',
      'start',
      'devices',
      'reporting',
      'average_score',
      'grades',
      'scores',
      'checks',
      'computed_at',
    ],
  },
  { name: 'enroll_tokens', columns: ['hash', 'device_type', 'created_at', 'expires_at', 'used_at', 'used_by'] },
  {
    name: 'connections',
    columns: ['id', 'device_id', 'serial', 'address', 'connected_at', 'disconnected_at', 'node'],
    identity: 'id',
  },
  { name: 'audit_runs', columns: ['id', 'at', 'findings'], identity: 'id' },
  {
    name: 'audit_findings',
    columns: ['n', 'run_id', 'check_id', 'severity', 'device_id', 'title', 'detail', 'remediation'],
    // The findings' order within a run (their rowid on SQLite).
    identity: 'n',
    sqliteSource: { n: 'rowid' },
  },
] as const satisfies readonly TableSpec[];

export type StoreTable = (typeof STORE_TABLES)[number]['name'];

/**
 * SQLite tables the store does not cover: the engine's own key index for telemetry, which PostgreSQL replaces with a
 * UNIQUE constraint, and the proofs of possession spent for tokens (a cluster spends them in Redis, where every node
 * sees them; each lives a minute). `fleet store migrate` names those that hold rows, so nothing is left behind
 * unsaid. API token keys are copied without their private halves (token_keys above): a private key stays with the
 * server that made it. Release bundles are files of the data folder on SQLite and rows of release_chunks on
 * PostgreSQL: the copy reads them from the files.
 */
export const SQLITE_ONLY_TABLES = ['telemetry_keys', 'telemetry_keyed', 'token_requests'] as const;
