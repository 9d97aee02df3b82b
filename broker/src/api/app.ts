// The fleet server's HTTP application (fastify): the operator API under /api/v1 and the device-facing routes
// (health, metrics, enrolment), with one error shape (problem+json), schema validation of every input, security
// headers, rate limits per address and per operator, token authentication, security events for every refusal,
// an audit record for every mutation, and the OpenAPI 3.1 document generated from the same route schemas.
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifySchema,
} from 'fastify';
import type { Logger } from '../../../shared/src/index.js';
import { EdgewardError } from '../../../shared/src/index.js';
import type { AuditLimiter } from '../db/audit.js';
import type { OperatorAuditStore } from '../store/types.js';
import type { FleetMetrics } from '../metrics/fleet-metrics.js';
import { authorize, type Auth } from './auth.js';
import { ApiError, PROBLEM_TYPE, problem, type Problem } from './errors.js';
import { createValidatorCompiler } from './validation.js';
import { answerClientError, withSecurityHeaders } from './wire.js';

export const API_PREFIX = '/api/v1';

export interface HttpAppLimits {
  /** Requests per minute from one source address (all routes). */
  readonly requestsPerMinutePerAddress: number;
  /** Requests per minute by one operator (authenticated routes). */
  readonly requestsPerMinutePerOperator: number;
  /** Largest request body any route accepts. */
  readonly maxBodyBytes: number;
}

export interface HttpAppOptions {
  readonly log: Logger;
  readonly metrics: FleetMetrics;
  /** The security event log (refusals), rate-limited per kind and address. */
  readonly events: AuditLimiter;
  /** The operator audit trail: this server's database, or on a cluster the store every node shares. */
  readonly operatorAudit: Pick<OperatorAuditStore, 'record'>;
  readonly authenticate: (req: FastifyRequest) => Promise<Auth>;
  /** From the config's `api` section (its defaults are the only ones). */
  readonly limits: HttpAppLimits;
  /** Builds the HTTPS server around fastify's request handler (the fleet server's hardened TLS listener). */
  readonly serverFactory: (handler: (req: IncomingMessage, res: ServerResponse) => void) => Server;
  /** Registers the routes. */
  readonly routes: (app: FastifyInstance) => Promise<void> | void;
  readonly version: string;
}

/** Framework errors (before our handlers run) mapped to the project's codes. */
function problemOf(err: FastifyError & { validation?: unknown[] }, req: FastifyRequest): Problem {
  if (err instanceof ApiError) return problem(err.status, err.code, err.message, err.details ?? {});
  if (err.validation) {
    const errors = (err.validation as { instancePath?: string; message?: string; params?: unknown }[]).map((v) => ({
      path: `${(err as { validationContext?: string }).validationContext ?? ''}${v.instancePath ?? ''}`,
      message: `${v.message ?? 'is invalid'}${paramsText(v.params)}`,
    }));
    return problem(400, 'API_INVALID_REQUEST', `the request does not match the schema of ${routeOf(req)}`, { errors });
  }
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return problem(413, 'API_BODY_TOO_LARGE', 'the request body is larger than this route accepts');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return problem(415, 'API_UNSUPPORTED_MEDIA_TYPE', 'send the body as application/json');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return problem(400, 'API_INVALID_REQUEST', 'the body is not valid JSON');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return problem(400, 'API_INVALID_REQUEST', 'the Content-Length does not match the body');
  }
  if (err instanceof EdgewardError) return fleetProblem(err);
  if (err.statusCode === 429) return problem(429, 'API_RATE_LIMITED', err.message);
  if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
    return problem(err.statusCode, 'API_INVALID_REQUEST', err.message);
  }
  return problem(500, 'API_SERVER_ERROR', `the server failed to answer (request ${req.id})`);
}

function paramsText(params: unknown): string {
  const p = params as Record<string, unknown> | undefined;
  if (p?.additionalProperty) return `: ${String(p.additionalProperty)}`;
  if (p?.allowedValues) return `: ${(p.allowedValues as unknown[]).join(', ')}`;
  return '';
}

/** The status for an error a service raised on purpose (its code tells what went wrong). */
const FLEET_STATUS: Readonly<Record<string, number>> = {
  FLEET_DEVICE_UNKNOWN: 404,
  FLEET_OPERATOR_UNKNOWN: 404,
  FLEET_COMMAND_UNKNOWN: 404,
  FLEET_RELEASE_UNKNOWN: 404,
  FLEET_ROLLOUT_UNKNOWN: 404,
  FLEET_ROLLOUT_CONFLICT: 409,
  FLEET_ROLLOUT_STATE: 409,
  FLEET_ROLLOUT_INVALID: 400,
  FLEET_RELEASE_AMBIGUOUS: 400,
  FLEET_RELEASE_CONFLICT: 409,
  FLEET_RELEASE_TOO_LARGE: 413,
  FLEET_TRUST_MISSING: 409,
  FLEET_DEVICE_EXISTS: 409,
  FLEET_OPERATOR_EXISTS: 409,
  FLEET_DEVICE_REVOKED: 409,
  FLEET_LAST_ADMIN: 409,
  FLEET_OPERATOR_INVALID: 400,
  FLEET_PKI_INVALID: 400,
  FLEET_SEAL_KEY_INVALID: 400,
  FLEET_COMMAND_INVALID: 400,
  KEY_INVALID: 400,
  KEY_WEAK: 400,
  USAGE: 400,
};

/** Details as plain JSON (a verifier's details may hold big integers). */
const plainDetails = (d: Readonly<Record<string, unknown>> | undefined): Record<string, unknown> =>
  d ? JSON.parse(JSON.stringify(d, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))) : {};

function fleetProblem(err: EdgewardError): Problem {
  // The firmware verifier refused a bundle or trust document: the request was understood, its content is refused.
  if (err.code.startsWith('FW_') && err.code !== 'FW_IO') {
    return problem(422, err.code, err.message, plainDetails(err.details));
  }
  const status = FLEET_STATUS[err.code] ?? 500;
  return status === 500
    ? problem(500, 'API_SERVER_ERROR', 'the server failed to answer')
    : problem(status, err.code, err.message, err.details ?? {});
}

/**
 * The request's path parameters if its route's schema accepts them. A refused one is a stranger's text, or a
 * credential pasted in the wrong place, and is not written to the audit trail.
 */
function validParams(req: FastifyRequest): Record<string, string> | undefined {
  const params = req.params as Record<string, string> | undefined;
  const validate = req.getValidationFunction('params');
  return params && validate && validate(params) === true ? params : undefined;
}

const notFound = (req: FastifyRequest) =>
  new ApiError(404, 'API_NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}`);

const routeOf = (req: FastifyRequest) => `${req.method} ${req.routeOptions.url ?? req.url.split('?')[0]}`;

/** What the router refuses before any route runs: a path that is not valid percent-encoded UTF-8, or too long. */
function frameworkProblem(err: FastifyError): Problem {
  switch (err.code) {
    case 'FST_ERR_BAD_URL':
      return problem(400, 'API_INVALID_REQUEST', 'the path is not valid percent-encoded UTF-8');
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return problem(400, 'API_INVALID_REQUEST', `a path parameter is longer than ${MAX_PARAM_LENGTH} characters`);
    default:
      return problem(500, 'API_SERVER_ERROR', 'the server failed to route the request');
  }
}

/** Longer than any id a route takes (device ids and operator names are at most 64). */
const MAX_PARAM_LENGTH = 200;

/** A route without a query schema takes no query: an unknown field is an error, as in bodies. */
const NO_QUERY = { type: 'object', additionalProperties: false, properties: {} } as const;

/** The one body type the API reads: JSON in UTF-8 (the charset parameter may say so, nothing else may follow). */
const JSON_BODY = /^application\/json[ \t]*(;[ \t]*charset=("utf-8"|utf-8)[ \t]*)?$/i;

/** The raw body types a route may take (config.rawBody); each route names the ones it reads. */
export const RAW_TYPES = ['application/octet-stream', 'application/cbor'];

const hasBody = (req: FastifyRequest) =>
  req.headers['transfer-encoding'] !== undefined ||
  (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0');

export async function createHttpApp(opts: HttpAppOptions): Promise<FastifyInstance> {
  const { limits } = opts;
  const app = Fastify({
    serverFactory: (handler) => opts.serverFactory(withSecurityHeaders(handler)),
    logger: false,
    bodyLimit: limits.maxBodyBytes,
    exposeHeadRoutes: false,
    return503OnClosing: true,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH, ignoreTrailingSlash: false, caseSensitive: true },
    requestIdHeader: false,
    clientErrorHandler: answerClientError,
    frameworkErrors: (err, _req, reply) => void sendProblem(reply, frameworkProblem(err), opts.log, err),
  });
  // fastify also reads text/plain bodies by default; the API takes JSON only, anything else is a 415.
  app.removeContentTypeParser('text/plain');
  // Raw bodies (only on routes that state `rawBody`, checked in preParsing) reach the route as the request stream,
  // never buffered: a firmware bundle is streamed to disk as it arrives.
  app.addContentTypeParser(RAW_TYPES, (_req, payload, done) => done(null, payload));
  app.setValidatorCompiler(createValidatorCompiler());
  app.decorateRequest('auth', null);
  app.decorateRequest('auditObject', null);

  // Every route states its scope (null for public): one forgotten is a startup error, not an open route. Every
  // route also gets a strict query schema if it has none, and publishes its body limit (0: it takes no body).
  app.addHook('onRoute', (route) => {
    const scope = route.config?.scope;
    if (scope === undefined) throw new Error(`route ${route.method} ${route.url} does not state its scope`);
    const schema: FastifySchema & Record<`x-${string}`, unknown> = {
      ...route.schema,
      querystring: route.schema?.querystring ?? NO_QUERY,
      security: scope === null ? [] : [{ bearerAuth: [scope] }],
      ...(route.config?.rawBody ? { 'x-raw-body': route.config.rawBody } : {}),
      'x-max-body-bytes': route.config?.rawBody
        ? (route.config.rawBodyLimit ?? 0)
        : route.schema?.body
          ? (route.bodyLimit ?? limits.maxBodyBytes)
          : 0,
    };
    route.schema = schema;
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'edgeward fleet server',
        version: opts.version,
        description:
          'The operator API (/api/v1) and the device-facing routes. Tokens: POST /api/v1/auth/token with a proof of ' +
          'possession of the operator key; see docs/operator-api.md. Errors are application/problem+json.',
      },
      components: {
        securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      },
    },
  });

  // The limits are applied in this file's own onRequest hook, in a fixed order: the address first (before any
  // token is verified, so a flood of bad tokens costs one counter each), then the operator, once known.
  await app.register(rateLimit, { global: false });
  const perAddress = app.createRateLimit({ max: limits.requestsPerMinutePerAddress, timeWindow: 60_000 });
  const perOperator = app.createRateLimit({
    max: limits.requestsPerMinutePerOperator,
    timeWindow: 60_000,
    keyGenerator: (req) => `operator:${req.auth?.operator ?? ''}`,
  });
  const throttle = async (limiter: typeof perAddress, req: FastifyRequest, reply: FastifyReply, who: string) => {
    const limit = await limiter(req);
    if (limit.isAllowed || !limit.isExceeded) return;
    reply.header('retry-after', String(limit.ttlInSeconds));
    throw new ApiError(429, 'API_RATE_LIMITED', `too many requests ${who}; retry in ${limit.ttlInSeconds} s`);
  };

  app.addHook('onRequest', async (req, reply) => {
    const { scope, rateLimit: rate } = req.routeOptions.config;
    // Health and metrics are exempt: a monitor polling them must not eat into the operators' budget, or be cut off.
    if (rate !== false) await throttle(perAddress, req, reply, 'from this address');
    if (!scope) return;
    const auth = await opts.authenticate(req);
    req.auth = auth;
    await throttle(perOperator, req, reply, `by ${auth.operator}`);
    authorize(req, auth);
  });

  // Bodies: none on a route that takes none (its limit is 0), JSON only, never compressed. Checked before the
  // body is read, so a refused body costs nothing.
  app.addHook('preParsing', async (req, _reply, payload) => {
    if (!hasBody(req)) return payload;
    // fastify would read an unknown route's body before its not-found handler runs.
    if (req.is404) throw notFound(req);
    const raw = req.routeOptions.config.rawBody;
    if (!req.routeOptions.schema?.body && !raw) {
      throw new ApiError(413, 'API_BODY_TOO_LARGE', `${routeOf(req)} takes no request body`);
    }
    const encoding = req.headers['content-encoding'];
    if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') {
      throw new ApiError(415, 'API_UNSUPPORTED_MEDIA_TYPE', 'send the body uncompressed (no Content-Encoding)');
    }
    if (raw) {
      const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
      if (!raw.includes(type)) {
        throw new ApiError(415, 'API_UNSUPPORTED_MEDIA_TYPE', `send the body as ${raw.join(' or ')}`);
      }
      const declared = Number(req.headers['content-length']);
      const limit = req.routeOptions.config.rawBodyLimit;
      if (limit !== undefined && Number.isFinite(declared) && declared > limit) {
        throw new ApiError(413, 'API_BODY_TOO_LARGE', `${routeOf(req)} takes at most ${limit} bytes`);
      }
      return payload;
    }
    if (!JSON_BODY.test(req.headers['content-type'] ?? '')) {
      throw new ApiError(415, 'API_UNSUPPORTED_MEDIA_TYPE', 'send the body as application/json (UTF-8)');
    }
    return payload;
  });

  // The audit trail: every request that changes something, whatever its outcome.
  app.addHook('onResponse', async (req, reply) => {
    const action = req.routeOptions.config.action;
    if (!action) return;
    const status = reply.statusCode;
    const params = validParams(req);
    const object = req.auditObject ?? (params?.id ? { type: action.split('.')[0]!, id: params.id } : null);
    try {
      await opts.operatorAudit.record({
        operator: req.auth?.operator ?? '(unauthenticated)',
        role: req.auth?.role ?? null,
        action,
        objectType: object?.type ?? action.split('.')[0]!,
        objectId: object?.id ?? params?.name ?? null,
        address: req.ip,
        via: 'api',
        outcome: status < 400 ? 'ok' : status === 401 || status === 403 ? 'denied' : 'failed',
        status,
      });
    } catch (err) {
      opts.log.error('audit record failed', { action, error: err as Error });
    }
  });

  // Every refusal of a caller (401, 403) is a security event, whoever refused it.
  const denied = (req: FastifyRequest, p: Problem) => {
    const reason = String(p.reason ?? p.code);
    const operator = req.auth?.operator ?? (p.operator as string | undefined) ?? null;
    opts.metrics.denials.inc({ kind: 'api', reason });
    opts.events.record({
      event: 'api.denied',
      address: req.ip,
      actor: operator ? `operator:${operator}` : null,
      detail: { reason, status: p.status, route: routeOf(req) },
    });
  };

  app.setErrorHandler((err: FastifyError, req, reply) => {
    const p = problemOf(err, req);
    if (p.status === 401 || p.status === 403) denied(req, p);
    return sendProblem(reply, p, opts.log, err);
  });
  app.setNotFoundHandler((req, reply) => {
    const err = notFound(req);
    return sendProblem(reply, problem(err.status, err.code, err.message), opts.log);
  });

  await opts.routes(app);
  app.get(
    `${API_PREFIX}/openapi.json`,
    { config: { scope: null }, schema: { summary: 'This OpenAPI 3.1 document', tags: ['meta'] } },
    async () => app.swagger(),
  );
  await app.ready();
  return app;
}

function sendProblem(reply: FastifyReply, p: Problem, log: Logger, cause?: unknown): FastifyReply {
  if (p.status >= 500) log.error('http request failed', { status: p.status, error: cause as Error });
  // A request refused before its body was read: close the connection rather than read the rest to keep it open.
  if (!reply.request.raw.complete) reply.header('connection', 'close');
  return reply.code(p.status).type(PROBLEM_TYPE).send(p);
}
