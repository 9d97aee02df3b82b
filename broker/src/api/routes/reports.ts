// What devices sent, for operators: telemetry by time range, a device's (/devices/{id}/telemetry) or the fleet's
// (/telemetry), a device's exposure report and score history (/devices/{id}/report), the reports received in a
// time range (/reports), and the fleet's posture and its history (/posture).
import type { FastifyInstance } from 'fastify';
import { API_PREFIX } from '../app.js';
import {
  deviceReport,
  fleetTelemetrySample,
  idParams,
  isoTime,
  object,
  pageOf,
  numericCursor,
  pageQuery,
  posture,
  postureHistory,
  receivedReport,
  responses,
  telemetrySample,
} from '../schemas.js';
import { adminOf, type RouteDeps } from './context.js';

const count = (max: number, fallback: number, description: string) =>
  ({ type: 'integer', minimum: 1, maximum: max, default: fallback, description }) as const;

/** A time range on when the server received rows, a page at a time in arrival order. */
const rangeQuery = object(
  {
    from: { ...isoTime, description: 'Received at or after (ISO 8601)' },
    to: { ...isoTime, description: 'Received before (ISO 8601)' },
    ...pageQuery,
    cursor: numericCursor,
  },
  ['from', 'to', 'limit', 'cursor'],
);

/** Fleet-wide lists may come back short for a device-limited token; the cursor says whether more may follow. */
const shortPages =
  "A token limited to some devices gets only their rows; its pages scan a bounded stretch of the fleet's rows, so " +
  'a page may hold fewer than `limit` (even none) while `next` is not null: follow `next` until it is null.';

type RangeQuery = { from?: string; to?: string; limit: number; cursor?: string };

export function reportRoutes(app: FastifyInstance, deps: RouteDeps): void {
  app.get(
    `${API_PREFIX}/devices/:id/telemetry`,
    {
      config: { scope: 'telemetry:read', deviceParam: 'id' },
      schema: {
        summary: "A device's samples received in a time range, oldest first, a page at a time",
        description:
          'from (inclusive) and to (exclusive) select on the time the server received each sample (receivedAt); ' +
          "each sample also carries the device's own time (ts). Pages follow the order of arrival.",
        tags: ['telemetry'],
        params: idParams,
        querystring: rangeQuery,
        response: responses({ 200: pageOf(telemetrySample) }, [404]),
      },
    },
    async (req) => adminOf(deps, req).telemetry((req.params as { id: string }).id, req.query as RangeQuery),
  );

  app.get(
    `${API_PREFIX}/telemetry`,
    {
      config: { scope: 'telemetry:read' },
      schema: {
        summary: "Every device's samples received in a time range, in arrival order, a page at a time",
        description:
          'from (inclusive) and to (exclusive) select on the time the server received each sample (receivedAt). ' +
          "Each sample names its device, its stream and sequence number, and the device's own time (ts). " +
          shortPages,
        tags: ['telemetry'],
        querystring: rangeQuery,
        response: responses({ 200: pageOf(fleetTelemetrySample) }),
      },
    },
    async (req) => adminOf(deps, req).fleetTelemetry(req.query as RangeQuery),
  );

  app.get(
    `${API_PREFIX}/reports`,
    {
      config: { scope: 'reports:read' },
      schema: {
        summary: 'Summaries of the exposure reports received in a time range, in arrival order, a page at a time',
        description:
          "from (inclusive) and to (exclusive) select on the time the server received each report (at). A device's " +
          `latest report itself is at /devices/{id}/report. ${shortPages}`,
        tags: ['reports'],
        querystring: rangeQuery,
        response: responses({ 200: pageOf(receivedReport) }),
      },
    },
    async (req) => adminOf(deps, req).reports.received(req.query as RangeQuery),
  );

  app.get(
    `${API_PREFIX}/devices/:id/report`,
    {
      config: { scope: 'reports:read', deviceParam: 'id' },
      schema: {
        summary: "A device's latest exposure report and its score history, newest first (fleet report --json)",
        tags: ['reports'],
        params: idParams,
        querystring: object({ history: count(1000, 20, 'How many past reports to summarise') }, ['history']),
        response: responses({ 200: deviceReport }, [404]),
      },
    },
    async (req) => {
      const { history } = req.query as { history: number };
      return adminOf(deps, req).reports.report((req.params as { id: string }).id, { history });
    },
  );

  app.get(
    `${API_PREFIX}/posture`,
    {
      config: { scope: 'reports:read', fleetWide: true },
      schema: {
        summary: "The fleet's posture from each device's latest report: grades, worst devices, common findings",
        tags: ['reports'],
        querystring: object({ worst: count(1000, 10, 'How many of the worst devices to list') }, ['worst']),
        response: responses({ 200: posture }),
      },
    },
    async (req) => adminOf(deps, req).reports.posture({ worst: (req.query as { worst: number }).worst }),
  );

  app.get(
    `${API_PREFIX}/posture/history`,
    {
      config: { scope: 'reports:read', fleetWide: true },
      schema: {
        summary: 'The posture per UTC day or hour, oldest first: each active device counted by its latest report',
        description:
          'From the period holding `since` through the current one (computed live, `partial`). `since` defaults ' +
          'to 30 days ago (day) or 48 hours ago (hour); an earlier one is brought forward to 366 days or 168 hours ' +
          'ago, as far as snapshots are kept. Completed periods without a snapshot (before the first report) are ' +
          'left out.',
        tags: ['reports'],
        querystring: object(
          {
            resolution: { type: 'string', enum: ['day', 'hour'], default: 'day' },
            since: { ...isoTime, description: 'From the period holding this time (ISO 8601)' },
            checks: {
              type: 'boolean',
              default: true,
              description: 'false leaves out the per-check counts: a year of trend is then ~45 KB instead of ~220 KB',
            },
          },
          ['resolution', 'since', 'checks'],
        ),
        response: responses({ 200: postureHistory }),
      },
    },
    async (req) =>
      adminOf(deps, req).reports.postureHistory(
        req.query as { resolution: 'day' | 'hour'; since?: string; checks: boolean },
      ),
  );
}
