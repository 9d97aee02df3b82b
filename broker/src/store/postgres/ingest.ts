// Ingest on PostgreSQL: a batch's telemetry in one statement (edgeward_ingest_telemetry, migration 8: the devices'
// rows locked, the samples in one multi-row INSERT … ON CONFLICT DO NOTHING RETURNING against the UNIQUE (device_id,
// stream, seq), so each sample is stored once however often and by however many nodes it is written, and the
// devices' counters in one UPDATE). A batch of telemetry alone is that statement, its own transaction: one round
// trip. A batch holding other messages runs it first in a transaction that then writes them (update reports move
// the devices' rollout rows there too). The caller learns each message's outcome only after the commit.
import type pg from 'pg';
import { MOVES_FROM } from '../../db/commands.js';
import type { StoreItem } from '../../fleet/ingest-store.js';
import type { BatchOutcome } from '../types.js';
import type { PgPool } from './pool.js';
import { pgApplyUpdateStatus } from './update-status.js';

/** As on SQLite (fleet/ingest-store.ts): a reject keeps the first 500 characters of its reason. */
const REJECT_MESSAGE_CHARS = 500;

/** Migration 8: locks the batch's devices, inserts the samples, moves the counters (one statement). */
const INGEST_TELEMETRY = `SELECT o_device, o_stream, o_seq FROM edgeward_ingest_telemetry(
  $1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[], $7::text[], $8::bigint[])`;

/**
 * PostgreSQL text cannot hold U+0000, and the message schemas let free text (an ack's detail, a finding's title)
 * carry it: such a message would fail its whole batch, every device's, again on each redelivery. It is refused alone.
 */
const holdsNul = (v: unknown): boolean =>
  typeof v === 'string'
    ? v.includes('\u0000')
    : Array.isArray(v)
      ? v.some(holdsNul)
      : typeof v === 'object' && v !== null && Object.entries(v).some(([k, x]) => k.includes('\u0000') || holdsNul(x));
/** A reject's topic and reason are diagnostics: kept, with any NUL made visible instead. */
const noNul = (text: string) => text.replaceAll('\u0000', '\uFFFD');

const keyOf = (device: string, stream: string, seq: number) => JSON.stringify([device, stream, seq]);

type Message = Exclude<StoreItem, { kind: 'reject' }>;

/** The samples of the batch's telemetry messages, each key once (the first message that has it owns it). */
function sampleRows(items: readonly StoreItem[], writable: (item: StoreItem) => boolean) {
  const owner = new Map<string, number>();
  const cols: [string[], string[], number[], number[], number[], string[], number[]] = [[], [], [], [], [], [], []];
  items.forEach((item, i) => {
    if (item.kind !== 'message' || item.decoded.kind !== 'telemetry' || !writable(item)) return;
    const { stream, samples } = item.decoded.message;
    for (const s of samples) {
      const key = keyOf(item.deviceId, stream, s.seq);
      if (owner.has(key)) continue;
      owner.set(key, i);
      cols[0].push(item.deviceId);
      cols[1].push(stream);
      cols[2].push(s.seq);
      cols[3].push(s.ts);
      cols[4].push(item.receivedAt);
      cols[5].push(JSON.stringify(s.m));
      cols[6].push(item.decoded.message.dropped ?? 0);
    }
  });
  return { owner, cols };
}

async function writeMessage(c: pg.PoolClient, item: Message): Promise<BatchOutcome> {
  const { deviceId, decoded, receivedAt } = item;
  if (decoded.kind === 'telemetry') throw new Error('telemetry is written in one statement per batch');
  const m = decoded.message;
  const fresh = await c.query(
    'INSERT INTO messages (device_id, msg_id, kind, received_at, device_ts) VALUES ($1, $2, $3, $4, $5) ' +
      'ON CONFLICT DO NOTHING RETURNING 1',
    [deviceId, m.id, decoded.kind, receivedAt, m.ts],
  );
  if (fresh.rowCount === 0) return { outcome: 'duplicate' };
  switch (decoded.kind) {
    case 'status': {
      const s = decoded.message;
      await c.query(
        'INSERT INTO status_history (device_id, state, device_ts, received_at, agent_version) ' +
          'VALUES ($1, $2, $3, $4, $5)',
        [deviceId, s.state, s.ts, receivedAt, s.agentVersion],
      );
      await c.query(
        'UPDATE devices SET agent_version = $1, firmware_version = coalesce($2, firmware_version), ' +
          'hardware = coalesce($3, hardware), last_seen = $4 WHERE id = $5',
        [s.agentVersion, s.firmwareVersion ?? null, s.hardware ?? null, receivedAt, deviceId],
      );
      break;
    }
    case 'cmd/ack': {
      const a = decoded.message;
      await c.query(
        'INSERT INTO command_acks (device_id, cmd_id, status, reason, detail, device_ts, received_at) ' +
          'VALUES ($1, $2, $3, $4, $5, $6, $7)',
        [deviceId, a.cmdId, a.status, a.reason ?? null, a.detail ?? null, a.ts, receivedAt],
      );
      // Only a command of this device moves, and only forward (db/commands.ts MOVES_FROM).
      if (a.cmdId) {
        await c.query(
          'UPDATE commands SET status = $1, reason = $2, detail = $3, acked_at = $4 ' +
            'WHERE id = $5 AND device_id = $6 AND status = ANY($7::text[])',
          [a.status, a.reason ?? null, a.detail ?? null, receivedAt, a.cmdId, deviceId, MOVES_FROM[a.status]],
        );
      }
      break;
    }
    case 'exposure': {
      const r = decoded.message;
      const row = await c.query<{ id: number }>(
        `INSERT INTO exposure_reports (device_id, msg_id, device_ts, received_at, scoring_version, score, grade,
           categories, services, findings, report) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id`,
        [
          deviceId,
          r.id,
          r.ts,
          receivedAt,
          r.scoringVersion,
          r.score,
          r.grade,
          JSON.stringify(r.categories),
          r.services.length,
          r.findings.length,
          JSON.stringify(r),
        ],
      );
      if (r.findings.length > 0) {
        await c.query(
          `INSERT INTO exposure_findings (report_id, device_id, check_id, severity, port, title)
           SELECT $1, $2, f.c, f.s, f.p, f.t
             FROM unnest($3::text[], $4::text[], $5::int[], $6::text[]) AS f(c, s, p, t)`,
          [
            row.rows[0]!.id,
            deviceId,
            r.findings.map((f) => f.check),
            r.findings.map((f) => f.severity),
            r.findings.map((f) => f.port),
            r.findings.map((f) => f.title),
          ],
        );
      }
      await c.query('UPDATE devices SET exposure_score = $1, exposure_grade = $2 WHERE id = $3', [
        r.score,
        r.grade,
        deviceId,
      ]);
      break;
    }
    case 'update/status':
      await pgApplyUpdateStatus(c, deviceId, decoded.message, receivedAt);
      break;
  }
  return { outcome: 'stored', samples: 0 };
}

async function writeReject(c: pg.PoolClient, item: Extract<StoreItem, { kind: 'reject' }>, at: number) {
  // One row per device, code and minute, as on SQLite (its migration 10).
  await c.query(
    `INSERT INTO ingest_rejects (device_id, minute, code, count, at, last_at, topic, message, size)
     VALUES ($1, $2, $3, 1, $4, $4, $5, $6, $7)
     ON CONFLICT (device_id, minute, code) DO UPDATE SET count = ingest_rejects.count + 1,
       last_at = excluded.last_at, topic = excluded.topic, message = excluded.message, size = excluded.size`,
    [
      item.deviceId,
      Math.floor(at / 60_000),
      item.code,
      at,
      noNul(item.topic),
      noNul(item.message.slice(0, REJECT_MESSAGE_CHARS)),
      item.size,
    ],
  );
  await c.query('UPDATE devices SET rejected_count = rejected_count + 1 WHERE id = $1', [item.deviceId]);
}

type Rows = pg.QueryResult<{ o_device: string; o_stream: string | null; o_seq: number | null }>;

/**
 * The batch's telemetry through edgeward_ingest_telemetry (run alone or in the batch's transaction). Returns each
 * item's outcome where that statement decides it (an unknown device, an unstorable message, telemetry), undefined
 * for a message or reject of a known device, which the caller writes.
 */
async function writeTelemetry(
  run: (sql: string, params: unknown[]) => Promise<Rows>,
  items: readonly StoreItem[],
  unstorable: ReadonlySet<StoreItem>,
) {
  const { owner, cols } = sampleRows(items, (item) => !unstorable.has(item));
  const result = await run(INGEST_TELEMETRY, [[...new Set(items.map((i) => i.deviceId))], ...cols]);
  const known = new Set<string>();
  const stored = new Map<number, number>();
  for (const r of result.rows) {
    if (r.o_stream === null || r.o_seq === null) known.add(r.o_device);
    else {
      const i = owner.get(keyOf(r.o_device, r.o_stream, r.o_seq))!;
      stored.set(i, (stored.get(i) ?? 0) + 1);
    }
  }
  return (item: StoreItem, i: number): BatchOutcome | undefined => {
    if (!known.has(item.deviceId)) return { outcome: 'refused', reason: 'unknown-device' };
    if (unstorable.has(item)) return { outcome: 'refused', reason: 'unstorable' };
    if (item.kind !== 'message' || item.decoded.kind !== 'telemetry') return undefined;
    const n = stored.get(i) ?? 0;
    return n === 0 ? { outcome: 'duplicate' } : { outcome: 'stored', samples: n };
  };
}

export async function pgWriteBatch(pool: PgPool, items: readonly StoreItem[], at: number): Promise<BatchOutcome[]> {
  const unstorable = new Set(items.filter((i) => i.kind === 'message' && holdsNul(i.decoded.message)));
  if (items.every((i) => i.kind === 'message' && i.decoded.kind === 'telemetry')) {
    const decided = await writeTelemetry((sql, p) => pool.query('ingest.writeBatch', sql, p), items, unstorable);
    return items.map((item, i) => decided(item, i)!);
  }
  return pool.transaction('ingest.writeBatch', async (c) => {
    const decided = await writeTelemetry((sql, p) => c.query(sql, p), items, unstorable);
    const outcomes: BatchOutcome[] = [];
    for (const [i, item] of items.entries()) {
      const outcome = decided(item, i);
      if (outcome) outcomes.push(outcome);
      else if (item.kind === 'reject') {
        await writeReject(c, item, at);
        outcomes.push({ outcome: 'refused', reason: 'rejected' });
      } else outcomes.push(await writeMessage(c, item));
    }
    return outcomes;
  });
}
