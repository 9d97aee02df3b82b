// The dashboard's routes: its files at /, the one-time login link (/login), the session (who, until when, the
// CSRF token; logout), the links made through the API, the overview's counts, counts per hour, and the live
// stream. Everything the dashboard shows beyond these comes from the ordinary API routes, under the same roles.
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { AuditLimiter } from '../../db/audit.js';
import { SESSION_TTL_MS } from '../../db/dashboard-sessions.js';
import { DASHBOARD_CSP, type DashboardAssets } from '../../http/dashboard-assets.js';
import type { FleetMetrics } from '../../metrics/fleet-metrics.js';
import type { DashboardSessionStore } from '../../store/types.js';
import { MAX_HOURS } from '../../admin/local-dashboard.js';
import { API_PREFIX } from '../app.js';
import { SESSION_COOKIE } from '../auth.js';
import { ApiError } from '../errors.js';
import type { LiveHub } from '../live.js';
import { dashboardLink, dashboardSession, hourly, object, overview, responses } from '../schemas.js';
import { adminOf, type RouteDeps } from './context.js';

export interface DashboardRouteDeps {
  readonly sessions: DashboardSessionStore;
  readonly live: LiveHub;
  /** Live MQTT sessions now. */
  readonly connections: () => number;
  /** The security event log (a refused link is an event). */
  readonly events: AuditLimiter;
  readonly metrics: FleetMetrics;
  /** The built files; undefined when the dashboard was not built. */
  readonly assets: DashboardAssets | undefined;
}

const cookie = (value: string, maxAgeSeconds: number) =>
  `${SESSION_COOKIE}=${value}; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}`;

/** A page without scripts or styles: the global CSP (default-src 'none') fits it. */
const refusedPage = (why: string) =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>edgeward: link refused</title></head><body>` +
  `<h1>This login link does not work</h1><p>${why}</p><p>Ask for a new one on the server host: ` +
  `<code>fleet dashboard link --data DIR --operator NAME</code>, then open it within five minutes.</p>` +
  `<p><a href="/">Back to the dashboard</a></p></body></html>`;

const REFUSAL_TEXT = {
  malformed: 'The link is not one this server makes.',
  unknown: 'The link is not one this server makes.',
  used: 'The link was used already: each link opens one session.',
  expired: 'The link has expired: links work for five minutes.',
} as const;

const hoursQuery = object({ hours: { type: 'integer', minimum: 1, maximum: MAX_HOURS, default: 24 } }, ['hours']);

export function dashboardRoutes(app: FastifyInstance, deps: RouteDeps, dash: DashboardRouteDeps): void {
  const sendFile = (path: string, reply: FastifyReply) => {
    const file = dash.assets?.get(path);
    if (!file) {
      throw new ApiError(503, 'API_UNAVAILABLE', 'the dashboard is not built: run npm run build on the server host');
    }
    return reply.header('content-security-policy', DASHBOARD_CSP).type(file.type).send(file.body);
  };
  for (const path of ['/', '/app.js', '/app.css']) {
    app.get(
      path,
      // Pages for a browser, not API routes: out of the OpenAPI document (docs/dashboard.md describes them).
      { config: { scope: null }, schema: { hide: true } },
      async (_req, reply) => sendFile(path, reply),
    );
  }

  app.get(
    '/login',
    {
      config: { scope: null, action: 'session.login' },
      schema: {
        hide: true,
        summary: 'Opens a one-time link (fleet dashboard link): sets the session cookie and goes to the dashboard',
        querystring: object({ t: { type: 'string', maxLength: 100 } }),
      },
    },
    async (req, reply) => {
      const result = await dash.sessions.redeem((req.query as { t: string }).t);
      if (!result.ok) {
        dash.metrics.denials.inc({ kind: 'api', reason: `link-${result.reason}` });
        dash.events.record({
          event: 'api.denied',
          address: req.ip,
          actor: null,
          detail: { reason: `link-${result.reason}`, status: 401, route: 'GET /login' },
        });
        return reply.code(401).type('text/html; charset=utf-8').send(refusedPage(REFUSAL_TEXT[result.reason]));
      }
      const op = (await deps.operators.byId(result.session.operatorId))!;
      req.auth = { operatorId: op.id, operator: op.name, role: op.role, scopes: [], devices: null };
      req.auditObject = { type: 'session', id: op.name };
      return reply
        .code(303)
        .header('set-cookie', cookie(result.secret, SESSION_TTL_MS / 1000))
        .header('location', '/')
        .send();
    },
  );

  app.get(
    `${API_PREFIX}/session`,
    {
      config: { scope: 'devices:read' },
      schema: {
        summary: 'Who the caller is, their scopes, and for a dashboard session its end and CSRF token',
        tags: ['dashboard'],
        response: responses({ 200: dashboardSession }),
      },
    },
    async (req) => {
      const auth = req.auth!;
      return {
        operator: auth.operator,
        role: auth.role,
        scopes: auth.scopes,
        expiresAt: auth.session ? new Date(auth.session.expiresAt).toISOString() : null,
        csrf: auth.session?.csrf ?? null,
      };
    },
  );

  app.post(
    `${API_PREFIX}/session/logout`,
    {
      config: { scope: 'devices:read', action: 'session.logout' },
      schema: {
        summary: 'Ends the dashboard session (send x-csrf-token); its cookie opens nothing afterwards',
        tags: ['dashboard'],
        response: responses({ 204: { type: 'null' } }),
      },
    },
    async (req, reply) => {
      const session = req.auth!.session;
      if (!session) throw new ApiError(400, 'API_INVALID_REQUEST', 'logout ends a dashboard session; send its cookie');
      await dash.sessions.end(session.secret);
      req.auditObject = { type: 'session', id: req.auth!.operator };
      return reply.code(204).header('set-cookie', cookie('', 0)).send();
    },
  );

  app.post(
    `${API_PREFIX}/dashboard/links`,
    {
      config: { scope: 'devices:read', fleetWide: true, action: 'dashboard.link' },
      schema: {
        summary: "A one-time dashboard login link for the caller's own operator (fleet dashboard link --server)",
        description:
          'Needs a bearer token (so the operator key): a dashboard session cannot make links, or it could ' +
          'renew itself for ever.',
        tags: ['dashboard'],
        response: responses({ 201: dashboardLink }),
      },
    },
    async (req, reply) => {
      const auth = req.auth!;
      if (auth.session) {
        throw new ApiError(403, 'API_FORBIDDEN', 'a dashboard session cannot make login links; use a token', {
          reason: 'session',
        });
      }
      req.auditObject = { type: 'dashboard', id: auth.operator };
      return reply.code(201).send(await adminOf(deps, req).dashboard.link(auth.operator));
    },
  );

  app.get(
    `${API_PREFIX}/overview`,
    {
      config: { scope: 'devices:read', fleetWide: true },
      schema: {
        summary: 'Devices online and offline, certificates expiring soon and live connections (the dashboard)',
        tags: ['dashboard'],
        response: responses({ 200: overview }),
      },
    },
    async (req) => ({ ...(await adminOf(deps, req).dashboard.overview()), connections: dash.connections() }),
  );

  app.get(
    `${API_PREFIX}/telemetry/hourly`,
    {
      config: { scope: 'telemetry:read', fleetWide: true },
      schema: {
        summary: 'Telemetry samples received per hour, the whole fleet',
        tags: ['dashboard'],
        querystring: hoursQuery,
        response: responses({ 200: hourly('samples') }),
      },
    },
    async (req) => ({
      hours: await adminOf(deps, req).dashboard.telemetryPerHour((req.query as { hours: number }).hours),
    }),
  );

  app.get(
    `${API_PREFIX}/events/hourly`,
    {
      config: { scope: 'events:read', fleetWide: true },
      schema: {
        summary: 'Security events recorded per hour',
        tags: ['dashboard'],
        querystring: hoursQuery,
        response: responses({ 200: hourly('events') }),
      },
    },
    async (req) => ({
      hours: await adminOf(deps, req).dashboard.eventsPerHour((req.query as { hours: number }).hours),
    }),
  );

  app.get(
    `${API_PREFIX}/stream`,
    {
      config: { scope: 'devices:read' },
      schema: {
        // An event stream, not a JSON answer: described in docs/dashboard.md rather than the OpenAPI document.
        hide: true,
        summary: 'Live updates as server-sent events: report, security, connections',
        description:
          'event: report {deviceId, score, grade, findings, at} (reports:read); event: security, a record as ' +
          '/api/v1/events lists it (events:read); event: connections {count} (devices:read, fleet-wide tokens). ' +
          'Only what arrives after the stream opened; a stream lasts at most an hour, or until the session or ' +
          'operator ends.',
      },
    },
    async (req, reply) => {
      // Checked before the response is taken over, so a refusal is an ordinary problem document.
      dash.live.admit(req.auth!);
      reply.hijack();
      dash.live.open(reply.raw, req.auth!);
    },
  );
}
