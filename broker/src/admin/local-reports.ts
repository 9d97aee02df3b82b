// What devices sent, read for an operator: telemetry by time range, exposure reports, the fleet's posture and
// its history. Reads only; each stays within the devices the caller may see.
import { UsageError } from '../../../shared/src/index.js';
import type { Db } from '../db/open.js';
import { createExposureStore } from '../db/exposure.js';
import { postureHistory } from '../db/posture-history.js';
import { createTelemetryReader } from '../db/telemetry.js';
import { type CallerContext, clampLimit } from './local-context.js';
import type { Page, ReportAdmin, StoredSample, TelemetryQuery } from './types.js';

export const MAX_HISTORY = 1000;
export const MAX_POSTURE_DAYS = 366;

/** A time given as ISO 8601; a usage error naming `what` otherwise. */
function timeOf(text: string | undefined, what: string): number | undefined {
  if (text === undefined) return undefined;
  const t = Date.parse(text);
  if (Number.isNaN(t)) throw new UsageError(`${what} must be a time in ISO 8601 (2025-01-31T12:00:00Z), got ${text}`);
  return t;
}

export function localReports(deps: { db: Db; now: () => number; pageSize: (limit?: number) => number }) {
  const exposure = createExposureStore(deps.db);
  const telemetry = createTelemetryReader(deps.db);
  return (ctx: CallerContext) => {
    const reports: ReportAdmin = {
      async report(deviceId, q = {}) {
        ctx.device(deviceId);
        const latest = exposure.latest(deviceId);
        return {
          deviceId,
          latest: latest?.report ?? null,
          receivedAt: latest?.receivedAt ?? null,
          history: exposure.history(deviceId, clampLimit(q.history, 20, MAX_HISTORY)),
        };
      },
      async posture(q = {}) {
        return exposure.posture(clampLimit(q.worst, 10, MAX_HISTORY));
      },
      async postureHistory(q = {}) {
        return postureHistory(deps.db, clampLimit(q.days, 30, MAX_POSTURE_DAYS), deps.now());
      },
    };

    async function samples(deviceId: string, q: TelemetryQuery = {}): Promise<Page<StoredSample>> {
      ctx.device(deviceId);
      const from = timeOf(q.from, 'from');
      const to = timeOf(q.to, 'to');
      if (from !== undefined && to !== undefined && from >= to) throw new UsageError('from must be before to');
      if (q.cursor !== undefined && !/^\d{1,15}$/.test(q.cursor)) throw new UsageError('cursor is not one this gave');
      const page = telemetry.page({
        deviceId,
        limit: deps.pageSize(q.limit),
        ...(from !== undefined ? { from } : {}),
        ...(to !== undefined ? { to } : {}),
        ...(q.cursor !== undefined ? { after: Number(q.cursor) } : {}),
      });
      return { items: page.items, next: page.last === null ? null : String(page.last) };
    }

    return { reports, telemetry: samples };
  };
}
