// What devices sent, for operators: a device's telemetry by time range (/devices/{id}/telemetry), its exposure
// report and score history (/devices/{id}/report), and the fleet's posture and its history (/posture).
import type { FastifyInstance } from 'fastify';
import { API_PREFIX } from '../app.js';
import {
  deviceReport,
  idParams,
  isoTime,
  object,
  pageOf,
  pageQuery,
  posture,
  postureDay,
  responses,
  telemetrySample,
} from '../schemas.js';
import { adminOf, type RouteDeps } from './context.js';

const count = (max: number, fallback: number, description: string) =>
  ({ type: 'integer', minimum: 1, maximum: max, default: fallback, description }) as const;

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
        querystring: object(
          {
            from: { ...isoTime, description: 'Received at or after (ISO 8601)' },
            to: { ...isoTime, description: 'Received before (ISO 8601)' },
            ...pageQuery,
            cursor: { ...pageQuery.cursor, pattern: '^[0-9]{1,15}$' },
          },
          ['from', 'to', 'limit', 'cursor'],
        ),
        response: responses({ 200: pageOf(telemetrySample) }, [404]),
      },
    },
    async (req) => {
      const q = req.query as { from?: string; to?: string; limit: number; cursor?: string };
      return adminOf(deps, req).telemetry((req.params as { id: string }).id, q);
    },
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
        summary: 'The posture per UTC day, oldest first: each device counted by its latest report as of that day',
        tags: ['reports'],
        querystring: object({ days: count(366, 30, 'How many days, up to today') }, ['days']),
        response: responses({ 200: object({ days: { type: 'array', items: postureDay } }) }),
      },
    },
    async (req) => ({
      days: await adminOf(deps, req).reports.postureHistory({ days: (req.query as { days: number }).days }),
    }),
  );
}
