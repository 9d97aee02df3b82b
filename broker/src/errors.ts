// Fleet server error codes (FLEET_*), listed in docs/errors.md.
import { defineCodes, EdgewardError } from '../../shared/src/index.js';

export const fleetCodes = defineCodes({
  FLEET_DATA_DIR: 'The data folder is missing, unreadable or not initialised; run `fleet pki init --data DIR` first.',
  FLEET_PKI_EXISTS: 'The data folder already holds a fleet CA; refusing to overwrite it.',
  FLEET_PKI_INVALID:
    'A CA, server or device key or certificate file is missing, unreadable or does not match, or a CSR is not one ' +
    'for the device.',
  FLEET_SEAL_KEY_INVALID:
    "The device's sealing key given with its registration is not an X25519 public key in SPKI PEM.",
  FLEET_DEVICE_EXISTS: 'A device with this id is already registered.',
  FLEET_DEVICE_UNKNOWN: 'No device with this id is registered.',
  FLEET_DEVICE_REVOKED: 'The device is revoked; it cannot be renewed or reconnect.',
  FLEET_DB_MIGRATION: 'The database schema is newer than this build, or a migration failed.',
  FLEET_DB_MISSING:
    'The data folder holds a fleet CA but its database is missing or empty; restore it from a backup, or start ' +
    'afresh on purpose with `fleet serve --init-empty-db`.',
  FLEET_DB_CORRUPT:
    'The database is damaged or not a SQLite database (integrity check failed); stop, keep a copy, restore it ' +
    'from a backup.',
  FLEET_DB_FULL:
    'The disk holding the database is full: nothing more can be stored (or acknowledged) until space is freed.',
  FLEET_DB_IO:
    'The database cannot be opened, read or written: not a regular file (a folder), permissions, a read-only disk ' +
    'or an I/O error.',
  FLEET_LISTEN:
    'A server port could not be opened (in use, not permitted, or the host is not this machine or unknown).',
  FLEET_DATA_IN_USE: 'Another fleet server is running on this data folder; a folder is served by one server at a time.',
  FLEET_OPERATOR_EXISTS: 'An operator with this name or key is already registered.',
  FLEET_OPERATOR_UNKNOWN: 'No operator with this name is registered.',
  FLEET_OPERATOR_INVALID:
    'The operator request is invalid: an unknown role, or a key that is not an Ed25519 public key.',
  FLEET_LAST_ADMIN: 'The change would leave the fleet without an active admin; add another admin first.',
  FLEET_ENROLL_REFUSED:
    "The fleet server refused an enrolment; the answer's `error` member says why (token-invalid, token-used, " +
    'token-expired, device-exists, csr-invalid, csr-key-type, csr-cn-mismatch, invalid-device-id, rate-limited).',
  FLEET_CONFIG_INVALID: 'The server configuration file has problems; every problem is listed.',
  FLEET_COMMAND_INVALID:
    'A submitted signed command was refused before it was queued; the message names the reason (malformed, ' +
    'unsigned, bad-signature, wrong-key, wrong-device, unknown-command, invalid-params, expired, bad-lifetime, ' +
    'counter-not-reserved, counter-reused, duplicate-id).',
  FLEET_COMMAND_UNKNOWN: 'No command with this id is queued (or the token may not see its device).',
  FLEET_ROLLOUT_INVALID:
    'The rollout request is invalid: bad stages or thresholds, an unknown selector, a selection with no device, ' +
    'or named devices that are unknown, revoked or of other hardware than the release.',
  FLEET_ROLLOUT_CONFLICT: 'Some selected devices are in another open (running, paused or halted) rollout.',
  FLEET_ROLLOUT_UNKNOWN: 'No rollout with this id exists.',
  FLEET_ROLLOUT_STATE: 'The rollout cannot do this in its current state (for example resume a completed rollout).',
  FLEET_TRUST_MISSING:
    "No firmware trust document is installed: install the fleet's first one with `fleet trust set FILE` before " +
    'publishing releases.',
  FLEET_RELEASE_UNKNOWN: 'No release has this id (or this id prefix: give at least 8 hex characters).',
  FLEET_RELEASE_AMBIGUOUS: 'The id prefix names more than one release; give more of the id.',
  FLEET_RELEASE_CONFLICT:
    'Another release for the same hardware has the same sequence number; sign the new build with a higher one.',
  FLEET_RELEASE_TOO_LARGE: 'The bundle is larger than the server accepts (releases.maxBundleBytes in the config).',
  FLEET_REDIS_UNREACHABLE:
    'A cluster node could not reach Redis at start-up, or its address is not redis://; start Redis or fix --redis.',
  FLEET_CLUSTER_INVALID: 'The cluster options are incomplete or wrong (--cluster needs --redis and a valid --node-id).',
  FLEET_PROXY_HEADER:
    'A connection from a trusted load balancer (proxyProtocol.trustedProxies) did not start with a valid PROXY ' +
    'protocol header, or not in time; it is closed.',
  FLEET_STORE_URL: 'The store URL is not sqlite:DIR, postgres://… or postgresql://…, or cannot be parsed.',
  FLEET_STORE_UNREACHABLE: 'The PostgreSQL server cannot be reached (refused, unknown host, timed out).',
  FLEET_STORE_AUTH: 'The PostgreSQL server refused the user or password in the store URL.',
  FLEET_STORE_VALUE:
    'The store refused a value it cannot hold (a NUL character in text for PostgreSQL, a number out of range).',
  FLEET_STORE_CONSTRAINT:
    'The store refused a write that breaks one of its constraints (an unknown device, a duplicate key, an ' +
    'append-only table).',
  FLEET_STORE_TIMEOUT: 'A PostgreSQL statement ran past the statement timeout and was cancelled.',
  FLEET_STORE_NOT_EMPTY:
    '`fleet store migrate` found rows in the target store; empty it, or pass --allow-non-empty on purpose.',
  FLEET_STORE_COUNTS: '`fleet store migrate` copied, but the row counts of the source and the target differ.',
  FLEET_CLUSTER_PEER_MISSING:
    'A local cluster (fleet cluster up) needs redis-server, haproxy and PostgreSQL (initdb, postgres): install them.',
  FLEET_CLUSTER_START:
    'A part of the local cluster did not start or become healthy in time; what had started was stopped again.',
  FLEET_CLUSTER_STATE:
    'The local cluster folder does not hold the cluster asked for: none there, a damaged cluster.json, another node ' +
    'count or host, or a cluster only partly running.',
});
export type FleetCode = keyof typeof fleetCodes;

export class FleetError extends EdgewardError {
  declare readonly code: FleetCode;
  constructor(code: FleetCode, message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(code, message, options);
  }
}
export { apiCodes, ApiError, type ApiCode } from './api/errors.js';
