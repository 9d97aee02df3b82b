// Reads the state folder read-only for `iot-agent status`: works whether the agent runs, crashed or never ran.
import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { AgentError } from '../errors.js';
import { DROP_REASONS, dropKey, type DropReason } from '../outbox/index.js';
import { AtRestError, looksEncrypted, openKeyedDatabase, type StorageKey } from '../../../shared/src/index.js';
import { assertFolderOrAbsent, missingKey, STATE_DB_FILE } from './db.js';
import { isAlive, parseRuntime, RUNTIME_KEY, type RuntimeRecord } from './runtime.js';
// The store file alone, not the update client's public face: `iot-agent status` must not load the verifier.
import { parseUpdateRecord } from '../update/store.js';

/** The firmware update in the state folder: the one under way, or how the last one ended. */
export interface UpdateStatusReport {
  /** Idle once finished (then `outcome` says how). */
  readonly state: string;
  readonly outcome: string | null;
  readonly rolloutId: number;
  readonly releaseId: string;
  readonly version: string | null;
  readonly done: number;
  readonly size: number | null;
  readonly reasonCode: string | null;
  readonly reason: string | null;
  /** The image it started from. */
  readonly fromVersion: string;
  /** Agent starts during this update (the crash-loop counter). */
  readonly boots: number;
}

export interface AgentStatusReport {
  readonly stateDir: string;
  /** False when the state folder holds no agent.db yet (the agent never ran here). */
  readonly initialized: boolean;
  /** An agent process is running on this state folder now. */
  readonly running: boolean;
  readonly pid: number | null;
  /** The running agent holds a connection to the fleet server. */
  readonly connected: boolean;
  readonly connectedSince: number | null;
  readonly server: string | null;
  readonly outboxDepth: number;
  readonly samples: number;
  readonly messages: Readonly<Record<string, number>>;
  /** Last telemetry sample made (0 before the first; a new state folder starts at 1). */
  readonly lastSequence: number;
  /** Last sample the broker acknowledged. */
  readonly lastAckedSequence: number;
  /** Samples acknowledged (and deleted) so far: lastSequence = acknowledged + samples + droppedBy.outbox-full. */
  readonly acknowledged: number;
  /** Samples lost for any reason so far (the sum of droppedBy). */
  readonly dropped: number;
  readonly droppedBy: Readonly<Record<DropReason, number>>;
  readonly stream: string | null;
  readonly lastTelemetryAckAt: number | null;
  readonly lastMessageAckAt: number | null;
  readonly lastCommandAt: number | null;
  readonly startedAt: number | null;
  readonly stoppedAt: number | null;
  readonly agentVersion: string | null;
  /** The installed (running) firmware version, as the agent last reported it. */
  readonly firmwareVersion: string | null;
  /** The pending firmware update and its state, or the last one's outcome; null when none ever came. */
  readonly update: UpdateStatusReport | null;
  readonly telemetryIntervalSeconds: number | null;
  readonly nonces: number;
  readonly operatorCounters: number;
}

function tableExists(db: Database.Database, name: string): boolean {
  return db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").pluck().get(name) === 1;
}

/** Throws AGENT_STATE_DIR unless `stateDir` is a folder or does not exist yet (the agent never ran). */
export function readAgentStatus(stateDir: string, storageKey?: StorageKey): AgentStatusReport {
  assertFolderOrAbsent(stateDir);
  const file = join(stateDir, STATE_DB_FILE);
  if (!existsSync(file)) return fromRows(stateDir, false, new Map(), 0, {}, 0, 0);
  if (!storageKey && looksEncrypted(file)) throw missingKey(file);
  let db: Database.Database;
  try {
    db = storageKey
      ? openKeyedDatabase(file, storageKey, { readonly: true })
      : new Database(file, { readonly: true, fileMustExist: true });
  } catch (err) {
    if (err instanceof AtRestError) throw err;
    throw new AgentError('AGENT_STATE_DIR', `cannot read the agent state in ${stateDir}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  try {
    db.pragma('busy_timeout = 2000');
    const kv = new Map(
      (db.prepare('SELECT key, value FROM kv').all() as { key: string; value: string }[]).map((r) => [r.key, r.value]),
    );
    const samples = db.prepare('SELECT count(*) FROM samples').pluck().get() as number;
    const messages = Object.fromEntries(
      (
        db.prepare('SELECT channel, count(*) AS n FROM messages GROUP BY channel').all() as {
          channel: string;
          n: number;
        }[]
      ).map((r) => [r.channel, r.n]),
    );
    const nonces = tableExists(db, 'nonces') ? (db.prepare('SELECT count(*) FROM nonces').pluck().get() as number) : 0;
    const counters = tableExists(db, 'counters')
      ? (db.prepare('SELECT count(*) FROM counters').pluck().get() as number)
      : 0;
    return fromRows(stateDir, true, kv, samples, messages, nonces, counters);
  } catch (err) {
    throw new AgentError('AGENT_STATE_DIR', `cannot read the agent state in ${stateDir}: ${(err as Error).message}`, {
      cause: err,
    });
  } finally {
    db.close();
  }
}

function fromRows(
  stateDir: string,
  initialized: boolean,
  kv: Map<string, string>,
  samples: number,
  messages: Record<string, number>,
  nonces: number,
  operatorCounters: number,
): AgentStatusReport {
  const num = (k: string) => Number(kv.get(k) ?? 0) || 0;
  const rt: RuntimeRecord | undefined = parseRuntime(kv.get(`state:${RUNTIME_KEY}`));
  const running = rt ? isAlive(rt) : false;
  const messageCount = Object.values(messages).reduce((a, b) => a + b, 0);
  const interval = Number(kv.get('state:telemetryIntervalSeconds')) || rt?.telemetryIntervalSeconds || null;
  // A folder not yet migrated to schema 3 keeps the outbox-full count as 'dropped' and no 'acked' (derived here
  // as migration 3 derives it).
  const droppedBy = Object.fromEntries(
    DROP_REASONS.map((r) => [r, num(kv.has(dropKey(r)) || r !== 'outbox-full' ? dropKey(r) : 'dropped')]),
  ) as Record<DropReason, number>;
  const lastSequence = num('last_seq');
  const acknowledged = kv.has('acked') ? num('acked') : Math.max(0, lastSequence - samples - droppedBy['outbox-full']);
  return {
    stateDir,
    initialized,
    running,
    pid: running && rt ? rt.pid : null,
    connected: running && rt ? rt.connected : false,
    connectedSince: running && rt?.connected ? rt.connectedSince : null,
    server: rt?.server ?? null,
    outboxDepth: samples + messageCount,
    samples,
    messages,
    lastSequence,
    lastAckedSequence: num('last_acked_seq'),
    acknowledged,
    dropped: DROP_REASONS.reduce((sum, r) => sum + droppedBy[r], 0),
    droppedBy,
    stream: kv.get('stream') ?? null,
    lastTelemetryAckAt: rt?.lastTelemetryAckAt ?? null,
    lastMessageAckAt: rt?.lastMessageAckAt ?? null,
    lastCommandAt: rt?.lastCommandAt ?? null,
    startedAt: rt?.startedAt ?? null,
    stoppedAt: rt?.stoppedAt ?? null,
    agentVersion: rt?.agentVersion ?? null,
    firmwareVersion: rt?.firmwareVersion ?? null,
    update: updateReport(kv.get('state:update')),
    telemetryIntervalSeconds: interval,
    nonces,
    operatorCounters,
  };
}

function updateReport(text: string | undefined): UpdateStatusReport | null {
  const r = parseUpdateRecord(text);
  if (!r) return null;
  return {
    state: r.state,
    outcome: r.outcome ?? null,
    rolloutId: r.rolloutId,
    releaseId: r.releaseId,
    version: r.version ?? r.target?.version ?? null,
    done: r.done,
    size: r.size ?? null,
    reasonCode: r.reasonCode ?? null,
    reason: r.reason ?? null,
    fromVersion: r.from.version,
    boots: r.boots,
  };
}
