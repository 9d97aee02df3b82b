// The operator API's paged reads on a thread of their own. A page of 100 devices or samples is a SQLite query and
// the mapping of its rows, about half a millisecond of CPU: on the event loop that also serves MQTT, every such
// request would stall the devices' PUBACKs behind it. Here the thread reads on its own connection (WAL: readers do
// not wait for the ingest thread's writer, and see what was committed before the request). The same admin service
// code answers, for the same caller (its device limits), so a page is the same from either thread.
import { parentPort, type Worker } from 'node:worker_threads';
import { EdgewardError, type Logger } from '../../../shared/src/index.js';
import { defineWorker, siblingModule } from '../../../shared/src/worker.js';
import { ApiError, type ApiCode } from '../api/errors.js';
import { openDb } from '../db/open.js';
import type { StorageKey } from '../../../shared/src/index.js';
import { type Caller, createAdminService } from './local.js';
import type { FleetAdmin } from './types.js';

export interface ReadThreadInit {
  /** The fleet database, already opened (and migrated) by the server. */
  readonly file: string;
  /** The folder's storage key when it is encrypted at rest. */
  readonly storageKey?: StorageKey | undefined;
}

/** Runs from the sources as admin-read-thread.ts, from dist/fleet.js as dist/admin-read-thread.js. */
export const ADMIN_READ_WORKER = defineWorker<ReadThreadInit>(
  'edgeward-admin-read-thread',
  siblingModule(import.meta.url, 'admin-read-thread'),
);

/** The reads that go to the thread: the lists, whose pages are the API's costly answers. */
const READS = {
  'devices.list': (a: FleetAdmin, q: Parameters<FleetAdmin['devices']['list']>[0]) => a.devices.list(q),
  telemetry: (a: FleetAdmin, id: string, q: Parameters<FleetAdmin['telemetry']>[1]) => a.telemetry(id, q),
  fleetTelemetry: (a: FleetAdmin, q: Parameters<FleetAdmin['fleetTelemetry']>[0]) => a.fleetTelemetry(q),
  events: (a: FleetAdmin, q: Parameters<FleetAdmin['events']>[0]) => a.events(q),
  auditTrail: (a: FleetAdmin, q: Parameters<FleetAdmin['auditTrail']>[0]) => a.auditTrail(q),
  'reports.received': (a: FleetAdmin, q: Parameters<FleetAdmin['reports']['received']>[0]) => a.reports.received(q),
  // Its current period reads every device's latest report: fleet-wide, like a page.
  'reports.postureHistory': (a: FleetAdmin, q: Parameters<FleetAdmin['reports']['postureHistory']>[0]) =>
    a.reports.postureHistory(q),
  'commands.list': (a: FleetAdmin, q: Parameters<FleetAdmin['commands']['list']>[0]) => a.commands.list(q),
  'commands.acks': (a: FleetAdmin, id: string, q: Parameters<FleetAdmin['commands']['acks']>[1]) =>
    a.commands.acks(id, q),
} as const;
/** Every read the thread answers (admin() sends each of them there; a test holds it to that). */
export const THREAD_READS = Object.keys(READS) as ReadName[];
type ReadName = keyof typeof READS;
type ReadArgs<N extends ReadName> = (typeof READS)[N] extends (a: FleetAdmin, ...args: infer A) => unknown ? A : never;

interface ReadRequest {
  readonly id: number;
  readonly caller: Caller;
  readonly read: ReadName;
  readonly args: unknown[];
}

/** An error as it crosses back: what the API's error mapping reads (code, message, details, an ApiError's status). */
interface WireError {
  readonly code?: string;
  readonly message: string;
  readonly details?: Readonly<Record<string, unknown>>;
  readonly status?: number;
}

type ReadReply =
  | { readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly id: number; readonly ok: false; readonly error: WireError };

function toWire(err: unknown): WireError {
  const e = err as { code?: unknown; message?: unknown; details?: Record<string, unknown> };
  return {
    ...(typeof e?.code === 'string' ? { code: e.code } : {}),
    message: typeof e?.message === 'string' ? e.message : String(err),
    ...(err instanceof EdgewardError && err.details ? { details: { ...err.details } } : {}),
    ...(err instanceof ApiError ? { status: err.status } : {}),
  };
}

function fromWire(w: WireError): Error {
  if (w.status !== undefined && w.code) return new ApiError(w.status, w.code as ApiCode, w.message, w.details);
  if (w.code && !w.code.startsWith('SQLITE_'))
    return new EdgewardError(w.code, w.message, w.details ? { details: w.details } : {});
  // A SQLite failure keeps its code, as the error of a read on the main thread would (db/failure.ts reads it).
  return Object.assign(new Error(w.message), w.code ? { code: w.code } : {});
}

function runThread(init: ReadThreadInit): void {
  const port = parentPort!;
  // Opened as every other connection (the server has migrated it already: nothing to do), and only read.
  const db = openDb(init.file, { storageKey: init.storageKey });
  const service = createAdminService({
    db,
    loadCa: () => Promise.reject(new Error('the read thread issues no certificates')),
  });
  port.on('message', (m: ReadRequest | { type: 'close' }) => {
    if ('type' in m) {
      db.close();
      port.close();
      return;
    }
    const read = READS[m.read] as (a: FleetAdmin, ...args: unknown[]) => Promise<unknown>;
    // The reads are synchronous SQLite underneath: one finishes before the next message is taken.
    Promise.resolve()
      .then(() => read(service.forCaller(m.caller), ...m.args))
      .then(
        (value) => port.postMessage({ id: m.id, ok: true, value } satisfies ReadReply),
        (err: unknown) => port.postMessage({ id: m.id, ok: false, error: toWire(err) } satisfies ReadReply),
      );
  });
}

export interface AdminReads {
  /** Runs a read for the caller on the thread. */
  read<N extends ReadName>(caller: Caller, read: N, ...args: ReadArgs<N>): Promise<unknown>;
  /** The caller's FleetAdmin with its lists read on the thread, everything else on `admin`. */
  admin(caller: Caller, admin: FleetAdmin): FleetAdmin;
  close(): Promise<void>;
}

export interface AdminReadsOptions extends ReadThreadInit {
  /** Told when the thread fails (its reads got 503). */
  readonly log?: Logger;
  /** Tests: start the thread another way (a module that fails to load, one that dies). */
  readonly startThread?: (init: ReadThreadInit) => Worker;
}

/**
 * Starts the read thread. A thread that dies fails the reads it had (503, API_UNAVAILABLE: retry) and is started
 * again by the next read.
 */
export function startAdminReads(opts: AdminReadsOptions): AdminReads {
  const startThread = opts.startThread ?? ((i: ReadThreadInit) => ADMIN_READ_WORKER.start(i));
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let worker: Worker | undefined;
  let nextId = 1;
  let closed = false;

  const failAll = (why: string) => {
    for (const p of pending.values()) {
      p.reject(new ApiError(503, 'API_UNAVAILABLE', `the read could not be completed (${why}); retry`));
    }
    pending.clear();
  };
  const thread = (): Worker => {
    if (worker) return worker;
    const w = startThread({ file: opts.file, storageKey: opts.storageKey });
    w.on('message', (r: ReadReply) => {
      const p = pending.get(r.id);
      if (!p) return;
      pending.delete(r.id);
      if (pending.size === 0) w.unref();
      if (r.ok) p.resolve(r.value);
      else p.reject(fromWire(r.error));
    });
    const gone = (why: string) => {
      if (worker !== w) return;
      worker = undefined;
      opts.log?.error('the operator API read thread stopped: its reads were refused (503)', {
        code: 'API_UNAVAILABLE',
        reason: why,
      });
      failAll(why);
    };
    w.on('error', (err) => gone(`the read thread failed: ${err.message}`));
    w.on('exit', (code) => gone(`the read thread exited with code ${code}`));
    worker = w;
    return w;
  };

  const read: AdminReads['read'] = (caller, name, ...args) => {
    if (closed) return Promise.reject(new ApiError(503, 'API_UNAVAILABLE', 'the server is stopping'));
    return new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      try {
        const w = thread();
        // Only while reads wait does the thread keep the process alive: idle, it does not hold up an exit.
        w.ref();
        w.postMessage({ id, caller, read: name, args } satisfies ReadRequest);
      } catch (err) {
        pending.delete(id);
        reject(new ApiError(503, 'API_UNAVAILABLE', `the read thread cannot start: ${(err as Error).message}`));
      }
    });
  };

  return {
    read,
    admin(caller, admin) {
      // Only what the caller may see crosses: their name, device limits and operator id (structured clone).
      const who: Caller = {
        actor: caller.actor,
        devices: caller.devices,
        ...(caller.operatorId !== undefined ? { operatorId: caller.operatorId } : {}),
      };
      const as = <T>(p: Promise<unknown>) => p as Promise<T>;
      return {
        ...admin,
        devices: { ...admin.devices, list: (q) => as(read(who, 'devices.list', q)) },
        reports: {
          ...admin.reports,
          received: (q) => as(read(who, 'reports.received', q)),
          postureHistory: (q) => as(read(who, 'reports.postureHistory', q)),
        },
        commands: {
          ...admin.commands,
          list: (q) => as(read(who, 'commands.list', q)),
          acks: (id, q) => as(read(who, 'commands.acks', id, q)),
        },
        telemetry: (id, q) => as(read(who, 'telemetry', id, q)),
        fleetTelemetry: (q) => as(read(who, 'fleetTelemetry', q)),
        events: (q) => as(read(who, 'events', q)),
        auditTrail: (q) => as(read(who, 'auditTrail', q)),
      };
    },
    async close() {
      closed = true;
      const w = worker;
      worker = undefined;
      failAll('the server is stopping');
      if (!w) return;
      const exited = new Promise<void>((resolve) => w.once('exit', () => resolve()));
      w.ref();
      w.postMessage({ type: 'close' });
      await Promise.race([exited, new Promise((r) => setTimeout(r, 2000).unref())]);
      await w.terminate();
    },
  };
}

if (ADMIN_READ_WORKER.input && parentPort) runThread(ADMIN_READ_WORKER.input);
