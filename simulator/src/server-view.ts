// What the fleet server itself stored, read through its operator API as a viewer (any server, also one of a
// cluster, not only one whose database is on this machine): stored samples and their end-to-end latency,
// exposure reports, audit events and command acknowledgements. Lists are read a page of 1,000 at a time, and the
// telemetry of a run in a few time slices at once.
import { type ApiClient, ApiRequestError, createApiClient } from '../../broker/src/admin/api-client.js';
import { createRemoteAdmin } from '../../broker/src/admin/remote.js';
import type { FleetAdmin, Page } from '../../broker/src/admin/types.js';
import type { Scope } from '../../broker/src/api/roles.js';
import type { DeviceFinal } from './device-pool.js';
import { SimulatorError } from './errors.js';
import { createHistogram, type Histogram } from './metrics.js';

export interface Phase {
  readonly name: string;
  /** Device timestamps in [from, to) belong to the phase. */
  readonly from: number;
  readonly to: number;
}

export interface StoredCounts {
  /** Rows stored for samples made in the run (seq ≤ cutoff of each device's stream). */
  readonly stored: number;
  /** received_at − device_ts of rows made in the measured window (windowStart < seq ≤ cutoff). */
  readonly latency: Histogram;
  readonly phases: ReadonlyMap<string, Histogram>;
}

export interface ServerView {
  /** What the server stored of the devices' streams; `since` is when the run began (before any of them existed). */
  stored(devices: readonly DeviceFinal[], since: number, phases?: readonly Phase[]): Promise<StoredCounts>;
  exposureStored(ids: readonly string[], since: number): Promise<number>;
  /** Audit events since `since` by "event:reason", each summary row counting its suppressed repeats too. */
  audited(since: number, deviceIds?: readonly string[]): Promise<Record<string, number>>;
  /** Acknowledgements the command's device sent for it, oldest first. */
  acks(cmdId: string): Promise<{ status: string; reason: string | null }[]>;
  commandStatus(id: string): Promise<string | undefined>;
  close(): void;
}

export interface ServerViewOptions {
  /** https://host:port of the operator API. */
  readonly url: string;
  /** The fleet CA (PEM): the API's certificate must chain to it. */
  readonly ca: string;
  /** An operator credential (PEM) whose role reads telemetry, reports, events and commands (viewer or above). */
  readonly credential: string;
}

/** What the view reads; the token asks for these only. */
const VIEW_SCOPES: readonly Scope[] = ['telemetry:read', 'reports:read', 'events:read', 'commands:read'];

/** The largest page the API gives. */
const PAGE = 1000;
/** Telemetry is read in this many time slices at once: the server and this process both work while pages travel. */
const SLICES = 4;
/** Device ids whose events are read at once. */
const PARALLEL = 4;
/**
 * Samples of the run's streams were received after the run began, by the server's clock; reading from a minute
 * earlier allows for a server clock that far behind this one (further behind, samples would count as lost).
 */
const CLOCK_SLACK_MS = 60_000;

const iso = (ms: number) => new Date(ms).toISOString();

/** Every item of a list, page after page (a server whose cursor does not move is refused by the remote admin). */
async function eachPage<T>(fetch: (cursor: string | undefined) => Promise<Page<T>>, use: (items: T[]) => void) {
  let cursor: string | undefined;
  for (;;) {
    const page = await fetch(cursor);
    use(page.items);
    if (page.next === null) return;
    cursor = page.next;
  }
}

/** Runs `fn` over `items`, at most `limit` at a time. */
async function eachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

const notFound = (err: unknown) => err instanceof ApiRequestError && err.status === 404;

export async function openServerView(o: ServerViewOptions): Promise<ServerView> {
  let client: ApiClient;
  try {
    client = createApiClient({
      server: o.url,
      ca: o.ca,
      credential: o.credential,
      tokenRequest: { scopes: VIEW_SCOPES },
      // A long run's polling may meet the per-operator limit: wait as the server asks rather than fail the run.
      retryRateLimited: true,
    });
  } catch (err) {
    throw new SimulatorError('SIM_SERVER_API', `cannot read the server view at ${o.url}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  // A token now: an unreachable server, a foreign certificate or a credential without the scopes fails before the
  // run, not after it.
  try {
    await client.token();
  } catch (err) {
    client.close();
    throw new SimulatorError(
      'SIM_SERVER_API',
      `cannot read the server view through the operator API at ${o.url}: ${(err as Error).message}`,
      { cause: err },
    );
  }
  const admin: FleetAdmin = createRemoteAdmin(client);

  return {
    async stored(devices, since, phases = []) {
      const byId = new Map(devices.map((d) => [d.id, d]));
      let stored = 0;
      const latency = createHistogram();
      const byPhase = new Map(phases.map((p) => [p.name, createHistogram()]));
      const from = since - CLOCK_SLACK_MS;
      // Slices of the time since the run began (the last one open-ended: the server's clock may be ahead).
      const step = Math.max(1, Math.ceil((Date.now() + CLOCK_SLACK_MS - from) / SLICES));
      const slices = Array.from({ length: SLICES }, (_, i) => ({
        from: iso(from + i * step),
        ...(i < SLICES - 1 ? { to: iso(from + (i + 1) * step) } : {}),
      }));
      await eachLimited(slices, SLICES, (slice) =>
        eachPage(
          (cursor) => admin.fleetTelemetry({ ...slice, limit: PAGE, ...(cursor ? { cursor } : {}) }),
          (items) => {
            for (const s of items) {
              const d = byId.get(s.deviceId);
              if (!d || s.stream !== d.stream || s.seq > d.cutoff) continue;
              stored++;
              if (s.seq <= d.windowStart) continue;
              const deviceTs = Date.parse(s.ts);
              const ms = Date.parse(s.receivedAt) - deviceTs;
              latency.record(ms);
              for (const p of phases) if (deviceTs >= p.from && deviceTs < p.to) byPhase.get(p.name)!.record(ms);
            }
          },
        ),
      );
      return { stored, latency, phases: byPhase };
    },

    async exposureStored(ids, since) {
      const wanted = new Set(ids);
      let n = 0;
      await eachPage(
        (cursor) => admin.reports.received({ from: iso(since), limit: PAGE, ...(cursor ? { cursor } : {}) }),
        (items) => {
          for (const r of items) if (wanted.has(r.deviceId)) n++;
        },
      );
      return n;
    },

    async audited(since, deviceIds) {
      const out: Record<string, number> = {};
      const count = (items: { event: string; detail: unknown }[]) => {
        for (const e of items) {
          const detail = typeof e.detail === 'object' && e.detail !== null ? (e.detail as Record<string, unknown>) : {};
          const key = detail.reason ? `${e.event}:${String(detail.reason)}` : e.event;
          out[key] = (out[key] ?? 0) + 1 + (Number(detail.suppressed) || 0);
        }
      };
      const read = (deviceId?: string) =>
        eachPage(
          (cursor) =>
            admin.events({
              since: iso(since),
              limit: PAGE,
              ...(deviceId ? { deviceId } : {}),
              ...(cursor ? { cursor } : {}),
            }),
          count,
        );
      if (deviceIds) await eachLimited(deviceIds, PARALLEL, read);
      else await read();
      return out;
    },

    async acks(cmdId) {
      const out: { status: string; reason: string | null }[] = [];
      try {
        await eachPage(
          (cursor) => admin.commands.acks(cmdId, { limit: PAGE, ...(cursor ? { cursor } : {}) }),
          (items) => {
            for (const a of items) out.push({ status: a.status, reason: a.reason });
          },
        );
      } catch (err) {
        if (notFound(err)) return [];
        throw err;
      }
      return out;
    },

    async commandStatus(id) {
      try {
        return (await admin.commands.get(id)).status;
      } catch (err) {
        if (notFound(err)) return undefined;
        throw err;
      }
    },

    close: () => admin.close(),
  };
}

/**
 * The view of a broker that keeps nothing the simulator can read (mosquitto, in the throughput comparison): nothing
 * stored, no reports, events or acknowledgements. A run against it counts every sample lost.
 */
export function emptyServerView(): ServerView {
  return {
    stored: async (_devices, _since, phases = []) => ({
      stored: 0,
      latency: createHistogram(),
      phases: new Map(phases.map((p) => [p.name, createHistogram()])),
    }),
    exposureStored: async () => 0,
    audited: async () => ({}),
    acks: async () => [],
    commandStatus: async () => undefined,
    close: () => {},
  };
}
