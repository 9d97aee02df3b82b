// The HTTPS routes of the fleet server: health, Prometheus metrics, device enrolment.
import type { IncomingMessage } from 'node:http';
import type { Enrollment } from '../fleet/enrollment.js';
import type { FleetMetrics } from '../metrics/fleet-metrics.js';
import type { Sessions } from '../mqtt/sessions.js';
import { sendJson, type Route } from './server.js';

const MAX_BODY = 16 * 1024;

/** Reads a JSON body of at most MAX_BODY bytes; undefined when it is too big or not JSON. */
async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) return undefined;
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    return undefined;
  }
}

export interface RouteDeps {
  readonly sessions: Sessions;
  readonly metrics: FleetMetrics;
  readonly enrollment: Enrollment;
  readonly mqttUrl: () => string;
}

export function createHttpRoutes(deps: RouteDeps): Record<string, Route> {
  return {
    'GET /healthz': (_req, res) => sendJson(res, 200, { status: 'ok', connected: deps.sessions.size }),

    'GET /metrics': (_req, res) => {
      const text = deps.metrics.registry.render();
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'cache-control': 'no-store' });
      res.end(text);
    },

    'POST /v1/enroll': async (req, res) => {
      if (!(req.headers['content-type'] ?? '').startsWith('application/json')) {
        return sendJson(res, 415, { error: 'unsupported-media-type', message: 'send application/json' });
      }
      const body = await readJson(req);
      if (typeof body !== 'object' || body === null || Array.isArray(body)) {
        return sendJson(res, 400, {
          error: 'bad-request',
          message: `the body must be a JSON object of at most ${MAX_BODY} bytes`,
        });
      }
      const b = body as Record<string, unknown>;
      const result = await deps.enrollment.enroll({
        token: b.token,
        id: b.id,
        csr: b.csr,
        address: req.socket.remoteAddress ?? 'unknown',
      });
      if (!result.ok) return sendJson(res, result.status, { error: result.reason, message: result.message });
      sendJson(res, 201, {
        deviceId: result.deviceId,
        certificate: result.certificate,
        ca: result.ca,
        mqtt: deps.mqttUrl(),
      });
    },
  };
}
