// HTTP fingerprint and read-only survey: GET/HEAD/OPTIONS only. The survey collects the exchanges that the
// http.* and nodered.* checks judge; default credentials and the rate-limit burst run only with credential checks on.
import { mapLimit } from '../limit.js';
import { budget } from '../net/conn.js';
import {
  buildRequest,
  httpRequest,
  looksLikeHttp,
  parseResponse,
  responseComplete,
  type HttpRequest,
} from '../net/http-client.js';
import type { AiFacts, HttpExchange } from '../types.js';
import { folderSearch, RANDOM_PATH_PREFIX, rootCountsAsListing } from './http-folders.js';
import { LLM_DEFAULTS, probeLlm } from './llm.js';
import type { ClientFirstProbe, ProbeArgs, Verdict } from './probe.js';

/** Origin sent with GET /, to see whether CORS trusts any origin (RFC 6454; .invalid per RFC 2606). */
export const PROBE_ORIGIN = 'https://edgeward-probe.invalid';

export const SENSITIVE_PATHS = [
  '/.env',
  '/.git/config',
  '/.htpasswd',
  '/backup.zip',
  '/backup.tar.gz',
  '/backup.sql',
  '/dump.sql',
] as const;
export const DEBUG_PATHS = [
  '/debug/pprof/',
  '/debug/vars',
  '/actuator/env',
  '/server-status',
  '/phpinfo.php',
  '/console',
] as const;
export const ADMIN_PATHS = ['/api', '/api/v1', '/admin', '/config', '/settings', '/management'] as const;
export const NODE_RED_PATHS = ['/flows', '/auth/login', '/settings'] as const;
/** A malformed percent-escape: frameworks in debug mode answer it with a stack trace. */
export const ERROR_PATH = '/edgeward-probe/%ff%?q=%';
/** Well-known factory logins, tried only by GET with Basic auth and only when credential checks are on. */
export const DEFAULT_CREDENTIALS = ['admin:admin', 'admin:password', 'root:root', 'pi:raspberry'] as const;
/** Failed logins sent in one burst to see whether anything throttles them. */
export const RATE_LIMIT_BURST = 10;

/**
 * One request at a time: on loopback that costs a few milliseconds each, and small embedded servers that serve
 * one connection at a time never make a queued request miss its deadline.
 */
const PARALLEL_REQUESTS = 1;

function isBasicChallenge(x: HttpExchange): boolean {
  return x.response?.status === 401 && /basic/i.test(x.response.headers['www-authenticate'] ?? '');
}

export function isNodeRed(body: string): boolean {
  return /<title>\s*Node-RED\s*<\/title>/i.test(body) || /red\/red(\.min)?\.js/.test(body);
}

async function survey(args: ProbeArgs, first: HttpExchange): Promise<{ exchanges: HttpExchange[]; nodeRed: boolean }> {
  const { ctx, dial, target } = args;
  const get = (path: string, extra: Partial<HttpRequest> = {}) =>
    httpRequest(ctx, dial, target, { method: 'GET', path, ...extra });
  const random = `${RANDOM_PATH_PREFIX}${ctx.env.randomBytes(6).toString('hex')}`;
  const nodeRed = isNodeRed(first.response?.body ?? '');
  const plan: HttpRequest[] = [
    { method: 'GET', path: random },
    { method: 'GET', path: ERROR_PATH },
    ...[...SENSITIVE_PATHS, ...DEBUG_PATHS, ...ADMIN_PATHS].map((path) => ({ method: 'GET' as const, path })),
    ...(nodeRed
      ? NODE_RED_PATHS.filter((p) => p !== '/settings').map((path) => ({ method: 'GET' as const, path }))
      : []),
  ];
  const exchanges = [first, ...(await mapLimit(plan, PARALLEL_REQUESTS, (req) => httpRequest(ctx, dial, target, req)))];
  // A listing at / is already the finding; otherwise look one folder down (at most FOLDER_REQUEST_CAP requests).
  if (!rootCountsAsListing(first, exchanges)) exchanges.push(...(await folderSearch(args, first)));

  if (ctx.credentialChecks && ctx.remaining() > 0) {
    const challenged = exchanges.find(isBasicChallenge);
    if (challenged) {
      // One at a time, stopping at the first success: at most four tries.
      for (const credentials of DEFAULT_CREDENTIALS) {
        const x = await get(challenged.path, { credentials });
        exchanges.push(x);
        if (x.response && x.response.status < 300) break;
      }
      const user = `edgeward-probe:${ctx.env.randomBytes(9).toString('base64url')}`;
      const burst = await mapLimit(Array.from({ length: RATE_LIMIT_BURST }), PARALLEL_REQUESTS, () =>
        get(challenged.path, { credentials: user }),
      );
      exchanges.push(...burst);
    }
  }
  // Last, and with a third of the usual wait: some small servers never answer OPTIONS (openssl s_server -www
  // waits for a GET), and only the dangerous-methods check needs it.
  if (ctx.remaining() > 0)
    exchanges.push(await httpRequest(ctx, dial, target, { method: 'OPTIONS', path: '/' }, ctx.probeTimeoutMs / 3));
  return { exchanges, nodeRed };
}

/** The service name in the report: the AI kind, and the model when disclosed (a cut-off is the service's note). */
function aiProduct(ai: AiFacts): string {
  const model = ai.model ? ` (${ai.model.name})` : '';
  return `${ai.kind}${model}`.replace(/[^\x20-\x7e]/g, '').slice(0, 128);
}

export const httpProbe: ClientFirstProbe = {
  name: 'http',
  hello: ({ target }) => Buffer.from(buildRequest(target, { method: 'GET', path: '/', origin: PROBE_ORIGIN })),
  recognise(reply: Buffer, final: boolean): Verdict {
    if (reply.length < 8) return final || !'HTTP/1.'.startsWith(reply.toString('latin1').slice(0, 7)) ? 'no' : 'more';
    return looksLikeHttp(reply) ? 'yes' : 'no';
  },
  async assess(conn, args) {
    const { data } = await conn.waitFor((d) => responseComplete(d, 'GET'), budget(args.ctx));
    conn.close();
    const response = parseResponse(data);
    const first: HttpExchange = {
      method: 'GET',
      path: '/',
      origin: PROBE_ORIGIN,
      ...(response ? { response } : { error: 'unparseable' }),
    };
    const { exchanges, nodeRed } = await survey(args, first);
    const { ctx, dial, target } = args;
    // Node-RED is a known product, not a chat service; everything else is asked whether a model answers.
    const ai = nodeRed
      ? undefined
      : await probeLlm(ctx, dial, target, response?.body ?? '', { ...LLM_DEFAULTS, ...ctx.llm });
    const server = response?.headers.server;
    const product = ai
      ? aiProduct(ai)
      : nodeRed
        ? 'Node-RED'
        : server
          ? server.replace(/[^\x20-\x7e]/g, '').slice(0, 100)
          : undefined;
    return { facts: { protocol: 'http', exchanges, nodeRed, ...(ai ? { ai } : {}) }, ...(product ? { product } : {}) };
  },
};
