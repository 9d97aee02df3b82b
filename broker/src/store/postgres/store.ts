// The fleet store on PostgreSQL (pg Pool, parameterised statements only). Rows are read under SQLite's column
// names and turned into records by the same functions the SQLite repositories use, so both engines answer alike.
import { type AuditTableRow, auditRowOf } from '../../db/audit.js';
import { commandRowOf, type RawRow } from '../../db/commands.js';
import type { OperatorAuditRow } from '../../db/operator-audit.js';
import {
  type GradeCounts,
  type LatestReportRow,
  PERIOD_MS,
  type PostureSnapshot,
  snapshotOf,
} from '../../db/posture-snapshots.js';
import { type CommonFinding, type LatestRow, postureOf } from '../../db/exposure.js';
import { type CertificateFacts, type DeviceRow, type DeviceStatus, deviceSummaryOf } from '../../db/registry.js';
import { type SampleRow, sampleOf } from '../../db/telemetry.js';
import { hashToken, newTokens, tokenRefusal } from '../../db/tokens.js';
import { type ReceivedRow, receivedReportOf } from '../../db/exposure-pages.js';
import { type ExposureReport, sealKeyId } from '../../../../shared/src/index.js';
import { STORE_TABLES, type StoreTable } from '../tables.js';
import type { ArrivalPage, ArrivalPageQuery, FleetStore } from '../types.js';
import { batched } from './batched.js';
import { pgWriteBatch } from './ingest.js';
import { pgMigrate, pgSchemaVersion } from './migrate.js';
import { pgMigrations } from './migrations.js';
import { createPgConnections } from './connections.js';
import { createPgDashboardSessions } from './dashboard-sessions.js';
import { createPgFleetAudit } from './fleet-audit.js';
import { createPgOperatorStore } from './operators.js';
import { createPgReleaseStore } from './releases.js';
import { createPgPruner } from './retention.js';
import { createPgRolloutStore } from './rollouts.js';
import { createPgTokenKeys } from './token-keys.js';
import { createPgPool, type PgPool } from './pool.js';

const iso = (ms: number) => new Date(ms).toISOString();

const DEVICE_SELECT = `
  SELECT d.id, d.device_type, d.status, d.online, d.last_seen, d.last_address, d.telemetry_count, d.dropped,
         d.rejected_count, d.agent_version, d.created_at, c.serial, c.not_after
    FROM devices d
    LEFT JOIN LATERAL (SELECT serial, not_after FROM certificates WHERE device_id = d.id
                        ORDER BY issued_at DESC, serial DESC LIMIT 1) c ON true`;

const WITH_SIGNER = 'SELECT c.*, o.name AS signed_by FROM commands c ' + 'LEFT JOIN operators o ON o.kid = c.operator';

interface OnlineWrite {
  readonly id: string;
  readonly online: 0 | 1;
  readonly at: number;
  readonly address: string | null;
  readonly node: string | null;
}

/** Pages of commands and acks are cursors of positive integers below 2^53. */
const MAX_CURSOR = Number.MAX_SAFE_INTEGER;

const INSERT_CERTIFICATE =
  'INSERT INTO certificates (serial, device_id, fingerprint, not_before, not_after, issued_at) ' +
  'VALUES ($1, $2, $3, $4, $5, $6)';
const certificateValues = (id: string, cert: CertificateFacts, now: number) => [
  cert.serial,
  id,
  cert.fingerprint256,
  cert.notBefore,
  cert.notAfter,
  now,
];
/** Registers (or re-activates) a device's sealing key, as the SQLite key store does. */
const INSERT_SEAL_KEY =
  'INSERT INTO device_keys (device_id, key_id, public_key, created_at) VALUES ($1, $2, $3, $4) ' +
  'ON CONFLICT (device_id, key_id) DO UPDATE SET retired_at = NULL';

/**
 * The filter of a fleet-wide page in arrival order ($1 after, $2 from, $3 to, $4 devices; $5 is the limit, one more
 * than the page). Ids are taken in commit order closely but not exactly: a row committed after a page was read may
 * hold a smaller id than the page's last (concurrent writers), which that cursor then does not show.
 */
const ARRIVAL_WHERE = (stamp: string) =>
  `WHERE id > $1 AND ($2::bigint IS NULL OR ${stamp} >= $2) AND ($3::bigint IS NULL OR ${stamp} < $3)
     AND ($4::text[] IS NULL OR device_id = ANY($4::text[]))`;
const arrivalValues = (p: ArrivalPageQuery) => [
  p.after ?? 0,
  p.from ?? null,
  p.to ?? null,
  p.devices ? [...p.devices] : null,
  p.limit + 1,
];

/** Up to `limit` of the rows read (one more was asked for); `last` is the cursor when there are more. */
function pageOf<R extends { id: number }, T>(r: R[], limit: number, map: (x: R) => T): ArrivalPage<T> {
  const shown = r.slice(0, limit);
  return { items: shown.map(map), last: r.length > limit ? shown.at(-1)!.id : null };
}

/** Opens a pool on the URL and applies pending migrations. */
export async function openPostgresStore(url: string): Promise<FleetStore> {
  const pool = createPgPool(url);
  const store = createPostgresStore(pool);
  try {
    await store.migrate();
  } catch (err) {
    await pool.end();
    throw err;
  }
  return store;
}

export function createPostgresStore(pool: PgPool): FleetStore {
  const q = pool.query;
  const rows = async <R extends object>(where: string, sql: string, params: unknown[] = []) =>
    (await q<R & Record<string, unknown>>(where, sql, params)).rows as R[];

  /** Rows stamped in each period [starts[i], starts[i + 1]), the last one open-ended. */
  async function countPerPeriod(where: string, table: string, stamp: string, starts: readonly number[]) {
    if (starts.length === 0) return [];
    const r = await rows<{ k: number; n: number }>(
      where,
      `SELECT width_bucket(${stamp}, $1::bigint[]) AS k, count(*) AS n FROM ${table} WHERE ${stamp} >= $2
        GROUP BY 1`,
      [[...starts], starts[0]],
    );
    const counts = starts.map(() => 0);
    for (const x of r) counts[x.k - 1] = x.n;
    return counts;
  }

  /**
   * Online flags, batched: the writes made while one is under way go in the next statement, one row per device (the
   * last write wins; an offline write keeps the address the device had). Devices in id order, as the ingest locks
   * them; the one statement is its own transaction (retried on a deadlock), so its row locks end with it. In an
   * explicit transaction they lasted until the node sent COMMIT, one event-loop turn later, which a node busy with
   * thousands of session ends can take seconds to reach (while 25,000 devices disconnected, statements waited up to
   * 9.8 s on another transaction's row locks: docs/cluster.md).
   */
  const writeOnline = batched<OnlineWrite>(async (writes) => {
    const last = new Map<string, OnlineWrite>();
    for (const w of writes) last.set(w.id, w.address === null ? { ...w, address: last.get(w.id)?.address ?? null } : w);
    const ws = [...last.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    await pool.query(
      'registry.setOnline',
      'UPDATE devices d SET online = v.online, last_seen = v.at, ' +
        'last_address = coalesce(v.address, d.last_address), online_node = v.node ' +
        'FROM unnest($1::text[], $2::int[], $3::bigint[], $4::text[], $5::text[]) ' +
        'AS v(id, online, at, address, node) WHERE d.id = v.id',
      [
        ws.map((w) => w.id),
        ws.map((w) => w.online),
        ws.map((w) => w.at),
        ws.map((w) => w.address),
        ws.map((w) => w.node),
      ],
    );
  });

  return {
    engine: 'postgres',
    migrate: () => pgMigrate(pool, pgMigrations),
    schemaVersion: () => pgSchemaVersion(pool),
    async counts() {
      const sql = STORE_TABLES.map((t) => `SELECT '${t.name}' AS t, count(*) AS n FROM ${t.name}`).join(' UNION ALL ');
      const r = await rows<{ t: StoreTable; n: number }>('counts', sql);
      return Object.fromEntries(r.map((x) => [x.t, x.n])) as Record<StoreTable, number>;
    },
    close: () => pool.end(),

    registry: {
      async exists(id) {
        return (await rows('registry.exists', 'SELECT 1 FROM devices WHERE id = $1', [id])).length > 0;
      },
      async addDevice(id, deviceType, cert, now = Date.now(), sealKey) {
        await pool.transaction('registry.addDevice', async (c) => {
          await c.query(`INSERT INTO devices (id, device_type, status, created_at) VALUES ($1, $2, 'active', $3)`, [
            id,
            deviceType,
            now,
          ]);
          await c.query(INSERT_CERTIFICATE, certificateValues(id, cert, now));
          if (sealKey) await c.query(INSERT_SEAL_KEY, [id, Buffer.from(sealKeyId(sealKey)), Buffer.from(sealKey), now]);
        });
      },
      async addCertificate(id, cert, now = Date.now()) {
        await q('registry.addCertificate', INSERT_CERTIFICATE, certificateValues(id, cert, now));
      },
      renew(id, r, now = Date.now()) {
        return pool.transaction('registry.renew', async (c) => {
          const revokedSerials = r.revokeOld
            ? (
                await c.query<{ serial: string }>(
                  'UPDATE certificates SET revoked_at = $1 WHERE device_id = $2 AND revoked_at IS NULL ' +
                    'RETURNING serial',
                  [now, id],
                )
              ).rows
                .map((x) => x.serial)
                .sort()
            : [];
          await c.query(INSERT_CERTIFICATE, certificateValues(id, r.cert, now));
          if (!r.sealKey) return { revokedSerials, retired: 0 };
          const kid = Buffer.from(sealKeyId(r.sealKey));
          await c.query(INSERT_SEAL_KEY, [id, kid, Buffer.from(r.sealKey), now]);
          if (!r.revokeOld) return { revokedSerials, retired: 0 };
          const retired = await c.query(
            'UPDATE device_keys SET retired_at = $1 WHERE device_id = $2 AND key_id <> $3 AND retired_at IS NULL',
            [now, id, kid],
          );
          return { revokedSerials, retired: retired.rowCount ?? 0 };
        });
      },
      async get(id) {
        const r = await rows<DeviceRow>('registry.get', `${DEVICE_SELECT} WHERE d.id = $1`, [id]);
        return r[0] && deviceSummaryOf(r[0]);
      },
      async list() {
        // COLLATE "C": byte order, as SQLite's BINARY collation sorts ids.
        return (await rows<DeviceRow>('registry.list', `${DEVICE_SELECT} ORDER BY d.id COLLATE "C"`)).map(
          deviceSummaryOf,
        );
      },
      async page(p) {
        const r = await rows<DeviceRow>(
          'registry.page',
          `${DEVICE_SELECT} WHERE d.id COLLATE "C" > $1 AND ($2::text IS NULL OR d.status = $2)
             AND ($3::text[] IS NULL OR d.id = ANY($3::text[])) ORDER BY d.id COLLATE "C" LIMIT $4`,
          [p.after ?? '', p.status ?? null, p.ids ? [...p.ids] : null, p.limit],
        );
        return r.map(deviceSummaryOf);
      },
      async counts() {
        const [r] = await rows<{ total: number; active: number; revoked: number; online: number }>(
          'registry.counts',
          `SELECT count(*) AS total, count(*) FILTER (WHERE status = 'active') AS active,
                  count(*) FILTER (WHERE status = 'revoked') AS revoked,
                  count(*) FILTER (WHERE status = 'active' AND online = 1) AS online
             FROM devices`,
        );
        return r!;
      },
      async expiring(until, limit) {
        // Each active device's newest certificate that is not revoked (the one it connects with), if it ends soon.
        const from = `FROM devices d JOIN LATERAL (SELECT serial, not_after FROM certificates
                        WHERE device_id = d.id AND revoked_at IS NULL ORDER BY issued_at DESC, serial DESC LIMIT 1) c
                        ON true
                      WHERE d.status = 'active' AND c.not_after < $1`;
        const [n] = await rows<{ n: number }>('registry.expiring', `SELECT count(*) AS n ${from}`, [until]);
        const soonest = await rows<{ deviceId: string; serial: string; notAfter: number }>(
          'registry.expiring',
          `SELECT d.id AS "deviceId", c.serial, c.not_after AS "notAfter" ${from}
            ORDER BY c.not_after, d.id COLLATE "C" LIMIT $2`,
          [until, limit],
        );
        return { count: n!.n, soonest };
      },
      revoke(id, now = Date.now()) {
        return pool.transaction('registry.revoke', async (c) => {
          const changed = await c.query(
            `UPDATE devices SET status = 'revoked', revoked_at = $1 WHERE id = $2 AND status = 'active'`,
            [now, id],
          );
          await c.query('UPDATE certificates SET revoked_at = $1 WHERE device_id = $2 AND revoked_at IS NULL', [
            now,
            id,
          ]);
          return (changed.rowCount ?? 0) > 0;
        });
      },
      async checkCertificate(deviceId, serial, now = Date.now()) {
        // One round trip (every CONNECT asks): the device, and the certificate of that serial whoever it belongs to.
        const [row] = await rows<{
          device_type: string;
          status: DeviceStatus;
          cert_device: string | null;
          not_after: number | null;
          revoked_at: number | null;
        }>(
          'registry.checkCertificate',
          'SELECT d.device_type, d.status, c.device_id AS cert_device, c.not_after, c.revoked_at FROM devices d ' +
            'LEFT JOIN certificates c ON c.serial = $2 WHERE d.id = $1',
          [deviceId, serial],
        );
        if (!row) return { ok: false, reason: 'unregistered' };
        if (row.status !== 'active') return { ok: false, reason: 'revoked' };
        if (row.cert_device !== deviceId) return { ok: false, reason: 'unknown-certificate' };
        if (row.revoked_at !== null) return { ok: false, reason: 'certificate-revoked' };
        if (row.not_after! < now) return { ok: false, reason: 'certificate-expired' };
        return { ok: true, deviceType: row.device_type };
      },
      async revokedDeviceIds() {
        const r = await rows<{ id: string }>(
          'registry.revokedDeviceIds',
          `SELECT id FROM devices WHERE status = 'revoked'`,
        );
        return new Set(r.map((x) => x.id));
      },
      setOnline(id, online, address, now = Date.now(), node) {
        return writeOnline({ id, online: online ? 1 : 0, at: now, address, node: online ? (node ?? null) : null });
      },
      async onlineNodes() {
        const r = await rows<{ online_node: string }>(
          'registry.onlineNodes',
          'SELECT DISTINCT online_node FROM devices WHERE online = 1 AND online_node IS NOT NULL',
        );
        return r.map((x) => x.online_node);
      },
      async releaseNodes(nodes) {
        if (nodes.length === 0) return 0;
        const r = await q(
          'registry.releaseNodes',
          'UPDATE devices SET online = 0, online_node = NULL WHERE online = 1 AND online_node = ANY($1::text[])',
          [[...nodes]],
        );
        return r.rowCount ?? 0;
      },
      async markSealKeysUsed(used) {
        if (used.length === 0) return;
        await q(
          'registry.markSealKeysUsed',
          `UPDATE device_keys k SET used_at = u.at FROM unnest($1::text[], $2::bytea[], $3::bigint[]) AS u(d, kid, at)
            WHERE k.device_id = u.d AND k.key_id = u.kid`,
          [used.map((u) => u.deviceId), used.map((u) => Buffer.from(u.kid)), used.map((u) => u.at)],
        );
      },
      async currentSealKey(id) {
        const [r] = await rows<{ key_id: Buffer; public_key: Buffer }>(
          'registry.currentSealKey',
          `SELECT key_id, public_key FROM device_keys WHERE device_id = $1 AND retired_at IS NULL
            ORDER BY coalesce(used_at, 0) DESC, created_at DESC LIMIT 1`,
          [id],
        );
        return r && { kid: new Uint8Array(r.key_id), publicKey: new Uint8Array(r.public_key) };
      },
      async sealKeys(ids) {
        const r = await rows<{ device_id: string; key_id: Buffer; public_key: Buffer }>(
          'registry.sealKeys',
          'SELECT device_id, key_id, public_key FROM device_keys WHERE device_id = ANY($1::text[]) ' +
            'AND retired_at IS NULL ORDER BY created_at',
          [[...new Set(ids)]],
        );
        return r.map((k) => ({
          deviceId: k.device_id,
          kid: new Uint8Array(k.key_id),
          publicKey: new Uint8Array(k.public_key),
        }));
      },
    },

    ingest: { writeBatch: (items, at) => pgWriteBatch(pool, items, at), prune: createPgPruner(pool) },

    telemetry: {
      async page(t) {
        const r = await rows<SampleRow>(
          'telemetry.page',
          `SELECT id, stream, seq, device_ts, received_at, metrics FROM telemetry
            WHERE device_id = $1 AND id > $2 AND ($3::bigint IS NULL OR received_at >= $3)
              AND ($4::bigint IS NULL OR received_at < $4)
            ORDER BY id LIMIT $5`,
          [t.deviceId, t.after ?? 0, t.from ?? null, t.to ?? null, t.limit + 1],
        );
        return pageOf(r, t.limit, sampleOf);
      },
      async fleetPage(p) {
        const r = await rows<SampleRow & { device_id: string }>(
          'telemetry.fleetPage',
          `SELECT id, device_id, stream, seq, device_ts, received_at, metrics FROM telemetry
            ${ARRIVAL_WHERE('received_at')} ORDER BY id LIMIT $5`,
          arrivalValues(p),
        );
        return pageOf(r, p.limit, (x) => ({ deviceId: x.device_id, ...sampleOf(x) }));
      },
      countPerPeriod: (starts) => countPerPeriod('telemetry.countPerPeriod', 'telemetry', 'received_at', starts),
    },

    reports: {
      async latest(deviceId) {
        const [r] = await rows<{ report: string; received_at: number }>(
          'reports.latest',
          'SELECT report, received_at FROM exposure_reports WHERE device_id = $1 ' +
            'ORDER BY received_at DESC, id DESC LIMIT 1',
          [deviceId],
        );
        return r && { report: JSON.parse(r.report) as ExposureReport, receivedAt: iso(r.received_at) };
      },
      async history(deviceId, limit = 50) {
        const r = await rows<{
          received_at: number;
          device_ts: number;
          score: number;
          grade: string;
          findings: number;
        }>(
          'reports.history',
          'SELECT received_at, device_ts, score, grade, findings FROM exposure_reports WHERE device_id = $1 ' +
            'ORDER BY received_at DESC, id DESC LIMIT $2',
          [deviceId, limit],
        );
        return r.map((h) => ({
          at: iso(h.received_at),
          deviceTs: iso(h.device_ts),
          score: h.score,
          grade: h.grade,
          findings: h.findings,
        }));
      },
      async received(p) {
        const r = await rows<ReceivedRow>(
          'reports.received',
          `SELECT id, device_id, received_at, device_ts, score, grade, findings FROM exposure_reports
            ${ARRIVAL_WHERE('received_at')} ORDER BY id LIMIT $5`,
          arrivalValues(p),
        );
        return pageOf(r, p.limit, receivedReportOf);
      },
      async posture(worst) {
        // Revoked devices are not part of the fleet's posture (as in the posture snapshots).
        const latest = await rows<LatestRow>(
          'reports.posture',
          `SELECT DISTINCT ON (r.device_id) r.id, r.device_id AS "deviceId", r.score, r.grade, r.findings,
                  r.received_at
             FROM exposure_reports r JOIN devices d ON d.id = r.device_id AND d.status = 'active'
            ORDER BY r.device_id, r.received_at DESC, r.id DESC`,
        );
        // A report names each check once per port: count devices, not findings.
        const common = await rows<CommonFinding>(
          'reports.posture',
          `SELECT check_id AS "check", severity, count(DISTINCT report_id) AS devices FROM exposure_findings
            WHERE report_id = ANY($1::bigint[]) GROUP BY check_id, severity
            ORDER BY devices DESC, check_id COLLATE "C" LIMIT 10`,
          [latest.map((x) => x.id)],
        );
        const [u] = await rows<{ n: number }>(
          'reports.posture',
          `SELECT count(*) AS n FROM devices WHERE status = 'active' AND NOT EXISTS
             (SELECT 1 FROM exposure_reports WHERE device_id = devices.id)`,
        );
        return postureOf(latest, common, u!.n, worst);
      },
    },

    commands: {
      async reservedCounter(kid) {
        const [r] = await rows<{ counter: number }>(
          'commands.reservedCounter',
          'SELECT counter FROM operator_counters WHERE kid = $1',
          [kid],
        );
        return r?.counter ?? 0;
      },
      async counterUsed(kid, counter) {
        const r = await rows('commands.counterUsed', 'SELECT 1 FROM commands WHERE operator = $1 AND counter = $2', [
          kid,
          counter,
        ]);
        return r.length > 0;
      },
      async nextCounter(kid) {
        const [r] = await rows<{ counter: number }>(
          'commands.nextCounter',
          'INSERT INTO operator_counters (kid, counter) VALUES ($1, 1) ON CONFLICT (kid) DO UPDATE SET ' +
            'counter = operator_counters.counter + 1 RETURNING counter',
          [kid],
        );
        return r!.counter;
      },
      async add(c) {
        await q(
          'commands.add',
          `INSERT INTO commands (id, device_id, command, params, operator, counter, envelope, created_at, expires_at,
             status) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending')`,
          [
            c.id,
            c.deviceId,
            c.command,
            JSON.stringify(c.params),
            c.operator,
            c.counter,
            Buffer.from(c.envelope),
            c.createdAt,
            c.expiresAt,
          ],
        );
      },
      async get(id) {
        const [r] = await rows<RawRow>('commands.get', `${WITH_SIGNER} WHERE c.id = $1`, [id]);
        return r && commandRowOf(r);
      },
      async list(deviceId, limit = 50) {
        const r = await rows<RawRow>(
          'commands.list',
          `${WITH_SIGNER} WHERE ($1::text IS NULL OR c.device_id = $1) ORDER BY c.created_at DESC, c.n DESC LIMIT $2`,
          [deviceId, limit],
        );
        return r.map(commandRowOf);
      },
      async openFor(deviceId, now = Date.now()) {
        const r = await rows<{ id: string; envelope: Buffer }>(
          'commands.openFor',
          `SELECT id, envelope FROM commands WHERE device_id = $1 AND status IN ('pending', 'sent') AND expires_at > $2
            ORDER BY counter, n`,
          [deviceId, now],
        );
        return r.map((x) => ({ id: x.id, envelope: new Uint8Array(x.envelope) }));
      },
      async markSent(id, now = Date.now()) {
        await q(
          'commands.markSent',
          `UPDATE commands SET status = CASE status WHEN 'pending' THEN 'sent' ELSE status END,
             attempts = attempts + 1, sent_at = $1 WHERE id = $2`,
          [now, id],
        );
      },
      async devicesWithPending(now = Date.now()) {
        const r = await rows<{ device_id: string }>(
          'commands.devicesWithPending',
          `SELECT DISTINCT device_id FROM commands WHERE status = 'pending' AND expires_at > $1`,
          [now],
        );
        return r.map((x) => x.device_id);
      },
      async expire(now = Date.now()) {
        const r = await q(
          'commands.expire',
          `UPDATE commands SET status = 'expired' WHERE status IN ('pending', 'sent') AND expires_at <= $1`,
          [now],
        );
        return r.rowCount ?? 0;
      },
      async acks(a) {
        const r = await rows<{
          id: number;
          status: 'accepted' | 'rejected' | 'done' | 'failed';
          reason: string | null;
          detail: string | null;
          device_ts: number;
          received_at: number;
        }>(
          'commands.acks',
          `SELECT id, status, reason, detail, device_ts, received_at FROM command_acks
            WHERE cmd_id = $1 AND device_id = $2 AND id > $3 ORDER BY id LIMIT $4`,
          [a.cmdId, a.deviceId, a.after ?? 0, a.limit],
        );
        return r.map((x) => ({
          n: x.id,
          ack: {
            status: x.status,
            reason: x.reason,
            detail: x.detail,
            deviceTs: iso(x.device_ts),
            receivedAt: iso(x.received_at),
          },
        }));
      },
    },

    releases: createPgReleaseStore(pool),
    rollouts: createPgRolloutStore(pool),

    audit: {
      async record(e, at = Date.now()) {
        const detail =
          e.detail === undefined || e.detail === null
            ? null
            : typeof e.detail === 'string'
              ? e.detail
              : JSON.stringify(e.detail);
        await q(
          'audit.record',
          'INSERT INTO audit (at, event, device_id, address, actor, detail) VALUES ($1, $2, $3, $4, $5, $6)',
          [at, e.event, e.deviceId ?? null, e.address ?? null, e.actor ?? null, detail],
        );
      },
      async recent(limit = 100, event = null) {
        const r = await rows<AuditTableRow>(
          'audit.recent',
          'SELECT * FROM audit WHERE ($1::text IS NULL OR event = $1) ORDER BY id DESC LIMIT $2',
          [event, limit],
        );
        return r.map(auditRowOf);
      },
      async page(p) {
        const r = await rows<AuditTableRow>(
          'audit.page',
          `SELECT * FROM audit WHERE id < $1 AND at >= $2 AND ($3::text IS NULL OR event = $3)
             AND ($4::text IS NULL OR device_id = $4) AND ($5::text[] IS NULL OR device_id = ANY($5::text[]))
           ORDER BY id DESC LIMIT $6`,
          [
            p.before ?? MAX_CURSOR,
            p.since ?? 0,
            p.event ?? null,
            p.deviceId ?? null,
            p.devices ? [...p.devices] : null,
            p.limit,
          ],
        );
        return r.map(auditRowOf);
      },
      countPerPeriod: (starts) => countPerPeriod('audit.countPerPeriod', 'audit', 'at', starts),
    },

    operatorAudit: {
      async record(e, at = Date.now()) {
        const [r] = await rows<{ id: number }>(
          'operatorAudit.record',
          `INSERT INTO operator_audit (at, operator, role, action, object_type, object_id, address, via, outcome,
             status, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id`,
          [
            at,
            e.operator,
            e.role ?? null,
            e.action,
            e.objectType ?? null,
            e.objectId ?? null,
            e.address ?? null,
            e.via,
            e.outcome,
            e.status ?? null,
            e.detail ? JSON.stringify(e.detail) : null,
          ],
        );
        return r!.id;
      },
      async page(p) {
        const r = await rows<{
          id: number;
          at: number;
          operator: string;
          role: string | null;
          action: string;
          object_type: string | null;
          object_id: string | null;
          address: string | null;
          via: 'api' | 'cli';
          outcome: 'ok' | 'denied' | 'failed';
          status: number | null;
          detail: string | null;
        }>(
          'operatorAudit.page',
          `SELECT * FROM operator_audit WHERE id < $1 AND ($2::text IS NULL OR operator = $2)
             AND ($3::text IS NULL OR action = $3) ORDER BY id DESC LIMIT $4`,
          [p.before ?? MAX_CURSOR, p.operator ?? null, p.action ?? null, p.limit],
        );
        return r.map(
          (x): OperatorAuditRow => ({
            id: x.id,
            at: iso(x.at),
            operator: x.operator,
            role: x.role,
            action: x.action,
            objectType: x.object_type,
            objectId: x.object_id,
            address: x.address,
            via: x.via,
            outcome: x.outcome,
            status: x.status,
            detail: x.detail ? (JSON.parse(x.detail) as Record<string, unknown>) : null,
          }),
        );
      },
    },

    posture: {
      async store(s, computedAt) {
        await q(
          'posture.store',
          `INSERT INTO posture_snapshots (resolution, start, devices, reporting, average_score, grades, scores, checks,
             computed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
           ON CONFLICT (resolution, start) DO UPDATE SET devices = excluded.devices, reporting = excluded.reporting,
             average_score = excluded.average_score, grades = excluded.grades, scores = excluded.scores,
             checks = excluded.checks, computed_at = excluded.computed_at`,
          [
            s.resolution,
            s.start,
            s.devices,
            s.reporting,
            s.averageScore,
            JSON.stringify(s.grades),
            JSON.stringify(s.scores),
            JSON.stringify(s.checks),
            computedAt,
          ],
        );
      },
      async read(resolution, from, to) {
        const r = await rows<{
          resolution: 'hour' | 'day';
          start: number;
          devices: number;
          reporting: number;
          average_score: number | null;
          grades: string;
          scores: string;
          checks: string;
        }>(
          'posture.read',
          `SELECT resolution, start, devices, reporting, average_score, grades, scores, checks FROM posture_snapshots
            WHERE resolution = $1 AND start >= $2 AND start < $3 ORDER BY start`,
          [resolution, from, to],
        );
        return r.map(
          (x): PostureSnapshot => ({
            resolution: x.resolution,
            start: x.start,
            devices: x.devices,
            reporting: x.reporting,
            averageScore: x.average_score,
            grades: JSON.parse(x.grades) as GradeCounts,
            scores: JSON.parse(x.scores) as number[],
            checks: JSON.parse(x.checks) as Record<string, number>,
          }),
        );
      },
      async compute(resolution, start) {
        const end = start + PERIOD_MS[resolution];
        // As on SQLite: each device one step down exposure_reports_latest; a device counts until it was revoked.
        const latest = await rows<LatestReportRow>(
          'posture.compute',
          `SELECT r.id, r.score, r.grade, r.received_at
             FROM devices d
             JOIN LATERAL (SELECT id, score, grade, received_at FROM exposure_reports
                            WHERE device_id = d.id AND received_at < $1
                            ORDER BY received_at DESC, id DESC LIMIT 1) r ON true
            WHERE NOT (d.status = 'revoked' AND coalesce(d.revoked_at, 0) < $1)`,
          [end],
        );
        const counts = latest.length
          ? await rows<{ check_id: string; n: number }>(
              'posture.compute',
              `SELECT check_id, count(DISTINCT device_id) AS n FROM exposure_findings
                WHERE report_id = ANY($1::bigint[]) GROUP BY check_id ORDER BY check_id COLLATE "C"`,
              [latest.map((x) => x.id)],
            )
          : [];
        return snapshotOf(resolution, start, latest, counts);
      },
      async starts(resolution, from, to) {
        const r = await rows<{ start: number }>(
          'posture.starts',
          'SELECT start FROM posture_snapshots WHERE resolution = $1 AND start >= $2 AND start < $3',
          [resolution, from, to],
        );
        return r.map((x) => x.start);
      },
      async firstReportAt() {
        const [r] = await rows<{ at: number | null }>(
          'posture.firstReportAt',
          'SELECT min(received_at) AS at FROM (SELECT received_at FROM exposure_reports ORDER BY id LIMIT 100) f',
        );
        return r?.at ?? null;
      },
      async pruneHours(before) {
        const r = await q(
          'posture.pruneHours',
          `DELETE FROM posture_snapshots WHERE resolution = 'hour' AND start < $1`,
          [before],
        );
        return r.rowCount ?? 0;
      },
    },

    enrollTokens: {
      async create(count, ttlMs, deviceType, now = Date.now()) {
        const expires = now + ttlMs;
        const tokens = newTokens(count);
        await q(
          'enrollTokens.create',
          `INSERT INTO enroll_tokens (hash, device_type, created_at, expires_at)
           SELECT h, $2, $3, $4 FROM unnest($1::text[]) AS h`,
          [tokens.map(hashToken), deviceType, now, expires],
        );
        return { tokens, expires };
      },
      async claim(token, deviceId, now = Date.now()) {
        const hash = hashToken(token);
        // One statement: of concurrent claims on any node, the row lock lets one through; the others see it used.
        const [won] = await rows<{ device_type: string }>(
          'enrollTokens.claim',
          `UPDATE enroll_tokens SET used_at = $1, used_by = $2 WHERE hash = $3 AND used_at IS NULL AND expires_at > $1
           RETURNING device_type`,
          [now, deviceId, hash],
        );
        if (won) return { ok: true, deviceType: won.device_type };
        const [row] = await rows<{ expires_at: number; used_at: number | null }>(
          'enrollTokens.claim',
          'SELECT expires_at, used_at FROM enroll_tokens WHERE hash = $1',
          [hash],
        );
        return { ok: false, reason: tokenRefusal(row, now) ?? 'token-used' };
      },
    },
    operators: createPgOperatorStore(pool),
    dashboardSessions: createPgDashboardSessions(pool),
    tokenKeys: createPgTokenKeys(pool),
    fleetAudit: createPgFleetAudit(pool),
    connections: createPgConnections(pool),
  };
}
