// What devices sent, read for an operator: telemetry by time range (a device's or the fleet's), exposure reports
// (a device's latest, or every report received in a time range), the fleet's posture and its history. Reads only;
// each stays within the devices the caller may see.
import { UsageError } from '../../../shared/src/index.js';
import type { Db } from '../db/open.js';
import { createPostureHistory } from '../db/posture-history.js';
import type { FleetStore } from '../store/types.js';
import { type CallerContext, clampLimit, cursorOf, timeOf } from './local-context.js';
import type { FleetSample, Page, RangeQuery, ReportAdmin, StoredSample, TelemetryQuery } from './types.js';

export const MAX_HISTORY = 1000;

/** The range and cursor of a query, checked: usage errors for bad times, a reversed range or a foreign cursor. */
function rangeOf(q: RangeQuery): { from?: number; to?: number; after?: number } {
  const from = timeOf(q.from, 'from');
  const to = timeOf(q.to, 'to');
  if (from !== undefined && to !== undefined && from >= to) throw new UsageError('from must be before to');
  const after = cursorOf(q.cursor);
  return {
    ...(from !== undefined ? { from } : {}),
    ...(to !== undefined ? { to } : {}),
    ...(after !== undefined ? { after } : {}),
  };
}

const pageOf = <T>(page: { items: T[]; last: number | null }): Page<T> => ({
  items: page.items,
  next: page.last === null ? null : String(page.last),
});

/**
 * `records` is where devices' messages are read, and the posture history's snapshots: the server's database
 * (createSqliteStore) or, on a cluster, the PostgreSQL store every node writes.
 */
export function localReports(deps: {
  db: Db;
  records: Pick<FleetStore, 'telemetry' | 'reports' | 'posture'>;
  now: () => number;
  pageSize: (limit?: number) => number;
}) {
  const { telemetry, reports: exposure } = deps.records;
  const postureHistory = createPostureHistory(deps.records.posture);
  return (ctx: CallerContext) => {
    const reports: ReportAdmin = {
      async report(deviceId, q = {}) {
        await ctx.device(deviceId);
        const latest = await exposure.latest(deviceId);
        return {
          deviceId,
          latest: latest?.report ?? null,
          receivedAt: latest?.receivedAt ?? null,
          history: await exposure.history(deviceId, clampLimit(q.history, 20, MAX_HISTORY)),
        };
      },
      async posture(q = {}) {
        return exposure.posture(clampLimit(q.worst, 10, MAX_HISTORY));
      },
      async postureHistory(q = {}) {
        const resolution = q.resolution ?? 'day';
        if (resolution !== 'day' && resolution !== 'hour') throw new UsageError('resolution is day or hour');
        const since = timeOf(q.since, 'since');
        const history = await postureHistory({ resolution, ...(since !== undefined ? { since } : {}) }, deps.now());
        if (q.checks !== false) return history;
        return { ...history, periods: history.periods.map(({ checks: _checks, ...period }) => period) };
      },
      async received(q = {}) {
        return pageOf(await exposure.received({ ...rangeOf(q), limit: deps.pageSize(q.limit), devices: ctx.devices }));
      },
    };

    async function samples(deviceId: string, q: TelemetryQuery = {}): Promise<Page<StoredSample>> {
      await ctx.device(deviceId);
      return pageOf(await telemetry.page({ deviceId, limit: deps.pageSize(q.limit), ...rangeOf(q) }));
    }

    async function fleetSamples(q: RangeQuery = {}): Promise<Page<FleetSample>> {
      return pageOf(await telemetry.fleetPage({ ...rangeOf(q), limit: deps.pageSize(q.limit), devices: ctx.devices }));
    }

    return { reports, telemetry: samples, fleetTelemetry: fleetSamples };
  };
}
