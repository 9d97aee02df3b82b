// GET /api/v1/stream: live updates for the dashboard as server-sent events. One timer for all streams reads what
// arrived since its last tick (new exposure reports, new security events: two queries on row ids, whoever wrote
// them, the ingest thread or another process) and the live connection count, and sends each stream what its
// caller's scopes allow. The timer runs only while a stream is open.
//
// Every tick also re-checks each stream's caller in the operator registry: a revoked operator, an ended session or
// a changed role closes it, as the next request would be refused (a registry that cannot answer closes it too). An
// operator revoked on another node of a cluster closes its streams here at once (revoked(), on the bus event). A
// stream lasts at most an hour; EventSource reconnects by itself.
import type { ServerResponse } from 'node:http';
import { auditRowOf, type AuditTableRow } from '../db/audit.js';
import type { Db } from '../db/open.js';
import type { DashboardSessionStore, OperatorRegistryStore } from '../store/types.js';
import type { Auth } from './auth.js';
import { ApiError } from './errors.js';
import { roleAllows } from './roles.js';

export const MAX_STREAMS = 100;
export const MAX_STREAMS_PER_OPERATOR = 8;
const TICK_MS = 1000;
const HEARTBEAT_MS = 15_000;
const MAX_STREAM_MS = 60 * 60_000;
/** Rows sent per tick at most; a burst beyond it is sent over the next ticks. */
const MAX_ROWS_PER_TICK = 200;

interface Stream {
  readonly res: ServerResponse;
  readonly auth: Auth;
  readonly until: number;
  lastWrite: number;
}

interface ReportRow {
  id: number;
  device_id: string;
  score: number;
  grade: string;
  findings: number;
  received_at: number;
}

export type LiveHub = ReturnType<typeof createLiveHub>;

export function createLiveHub(deps: {
  db: Db;
  operators: OperatorRegistryStore;
  sessions: DashboardSessionStore;
  connections: () => number;
  now?: () => number;
  tickMs?: number;
}) {
  const now = deps.now ?? Date.now;
  const { db } = deps;
  const maxReport = db.prepare('SELECT coalesce(max(id), 0) FROM exposure_reports').pluck();
  const maxEvent = db.prepare('SELECT coalesce(max(id), 0) FROM audit').pluck();
  const reportsAfter = db.prepare(
    'SELECT id, device_id, score, grade, findings, received_at FROM exposure_reports WHERE id > ? ORDER BY id LIMIT ?',
  );
  const eventsAfter = db.prepare('SELECT * FROM audit WHERE id > ? ORDER BY id LIMIT ?');
  const streams = new Set<Stream>();
  let timer: NodeJS.Timeout | undefined;
  /** The tick under way: a registry slower than the tick interval does not pile ticks up. */
  let ticking: Promise<void> | undefined;
  let lastReport = 0;
  let lastEvent = 0;
  let lastConnections = -1;

  const send = (s: Stream, event: string, data: unknown) => {
    if (s.res.writableEnded) return;
    s.res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    s.lastWrite = now();
  };
  const sees = (s: Stream, deviceId: string | null) =>
    !s.auth.devices || (deviceId !== null && s.auth.devices.includes(deviceId));

  /** Whether the caller would still be let in: the operator active with the same role, the session live. */
  async function stillAllowed(s: Stream): Promise<boolean> {
    if (now() >= s.until) return false;
    const current = await deps.operators.current(s.auth.operatorId);
    if (current?.status !== 'active') return false;
    if (!s.auth.scopes.every((scope) => roleAllows(current.role, scope))) return false;
    return !s.auth.session || (await deps.sessions.session(s.auth.session.secret)) !== undefined;
  }

  async function tick(): Promise<void> {
    const checked = await Promise.all(
      [...streams].map(async (s) => ({ s, allowed: await stillAllowed(s).catch(() => false) })),
    );
    for (const { s, allowed } of checked) if (!allowed) drop(s);
    if (!timer) return;
    const reports = reportsAfter.all(lastReport, MAX_ROWS_PER_TICK) as ReportRow[];
    const events = eventsAfter.all(lastEvent, MAX_ROWS_PER_TICK) as AuditTableRow[];
    lastReport = reports.at(-1)?.id ?? lastReport;
    lastEvent = events.at(-1)?.id ?? lastEvent;
    const connections = deps.connections();
    const connectionsChanged = connections !== lastConnections;
    lastConnections = connections;
    const t = now();
    for (const s of streams) {
      if (s.auth.scopes.includes('reports:read')) {
        for (const r of reports) {
          if (!sees(s, r.device_id)) continue;
          const at = new Date(r.received_at).toISOString();
          send(s, 'report', { deviceId: r.device_id, score: r.score, grade: r.grade, findings: r.findings, at });
        }
      }
      if (s.auth.scopes.includes('events:read')) {
        // The same record as GET /api/v1/events lists.
        for (const e of events) if (sees(s, e.device_id)) send(s, 'security', auditRowOf(e));
      }
      if (connectionsChanged && s.auth.scopes.includes('devices:read') && !s.auth.devices) {
        send(s, 'connections', { count: connections });
      }
      // A comment line keeps proxies and the browser from taking a quiet stream for a dead one.
      if (t - s.lastWrite >= HEARTBEAT_MS && !s.res.writableEnded) {
        s.res.write(': keep-alive\n\n');
        s.lastWrite = t;
      }
    }
  }

  function drop(s: Stream): void {
    streams.delete(s);
    if (!s.res.writableEnded) s.res.end();
    if (streams.size === 0) stop();
  }

  function start(): void {
    if (timer) return;
    // Only what arrives from now on: the views read the past through the API.
    lastReport = maxReport.get() as number;
    lastEvent = maxEvent.get() as number;
    lastConnections = -1;
    timer = setInterval(() => {
      ticking ??= tick().finally(() => (ticking = undefined));
    }, deps.tickMs ?? TICK_MS);
    timer.unref();
  }

  function stop(): void {
    clearInterval(timer);
    timer = undefined;
  }

  return {
    /** Refuses a stream beyond the caps (before the route takes the response over). */
    admit(auth: Auth): void {
      if (streams.size >= MAX_STREAMS) {
        throw new ApiError(503, 'API_UNAVAILABLE', `the server holds ${MAX_STREAMS} live streams already; retry later`);
      }
      const own = [...streams].filter((s) => s.auth.operatorId === auth.operatorId).length;
      if (own >= MAX_STREAMS_PER_OPERATOR) {
        throw new ApiError(429, 'API_RATE_LIMITED', `at most ${MAX_STREAMS_PER_OPERATOR} live streams per operator`);
      }
    },
    /** Takes over the response: the stream stays open until the client leaves, or is closed by a tick. */
    open(res: ServerResponse, auth: Auth): void {
      const until = Math.min(now() + MAX_STREAM_MS, auth.session?.expiresAt ?? Number.POSITIVE_INFINITY);
      const s: Stream = { res, auth, until, lastWrite: now() };
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        'x-accel-buffering': 'no',
      });
      // The client waits this long before it reconnects after the stream ends.
      res.write('retry: 3000\n\n');
      if (streams.size === 0) start();
      streams.add(s);
      if (auth.scopes.includes('devices:read') && !auth.devices) {
        send(s, 'connections', { count: deps.connections() });
      }
      // A client gone mid-write is an error on the response, not the server's: the stream is dropped.
      res.on('error', () => drop(s));
      res.on('close', () => drop(s));
    },
    /** The operator was revoked (on another node of a cluster): its streams close now, not at the next tick. */
    revoked(operator: string): void {
      for (const s of streams) if (s.auth.operator === operator) drop(s);
    },
    get size() {
      return streams.size;
    },
    close(): void {
      stop();
      for (const s of streams) drop(s);
    },
  };
}
