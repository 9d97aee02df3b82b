// Every route of the operator API, registered in one place (the OpenAPI document lists the same).
import type { FastifyInstance } from 'fastify';
import { authRoutes } from './auth.js';
import type { RouteDeps } from './context.js';
import { deviceRoutes } from './devices.js';
import { eventRoutes } from './events.js';
import { operatorRoutes } from './operators.js';

export function apiRoutes(app: FastifyInstance, deps: RouteDeps): void {
  authRoutes(app, deps);
  deviceRoutes(app, deps);
  operatorRoutes(app, deps);
  eventRoutes(app, deps);
}

export type { RouteDeps } from './context.js';
