// Every route of the operator API, registered in one place (the OpenAPI document lists the same).
import type { FastifyInstance } from 'fastify';
import { authRoutes } from './auth.js';
import { commandRoutes } from './commands.js';
import type { RouteDeps } from './context.js';
import { type DashboardRouteDeps, dashboardRoutes } from './dashboard.js';
import { deviceRoutes } from './devices.js';
import { eventRoutes } from './events.js';
import { fleetAuditRoutes } from './fleet-audit.js';
import { operatorRoutes } from './operators.js';
import { releaseRoutes } from './releases.js';
import { reportRoutes } from './reports.js';
import { rolloutRoutes } from './rollouts.js';
import { parseFleetConfig } from '../../config.js';

export function apiRoutes(app: FastifyInstance, deps: RouteDeps, dashboard?: DashboardRouteDeps): void {
  authRoutes(app, deps);
  deviceRoutes(app, deps);
  operatorRoutes(app, deps);
  eventRoutes(app, deps);
  reportRoutes(app, deps);
  fleetAuditRoutes(app, deps);
  commandRoutes(app, deps);
  rolloutRoutes(app, deps);
  releaseRoutes(app, deps, {
    maxBundleBytes: deps.maxBundleBytes ?? parseFleetConfig({}).releases.maxBundleBytes,
  });
  if (dashboard) dashboardRoutes(app, deps, dashboard);
}

export type { RouteDeps } from './context.js';
