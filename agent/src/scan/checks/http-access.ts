// Access checks on HTTP: unauthenticated API/admin surfaces, default credentials, login throttling, Node-RED.
import { ADMIN_PATHS, DEFAULT_CREDENTIALS, RATE_LIMIT_BURST } from '../probes/http.js';
import type { Finding, HttpExchange, ServiceObservation } from '../types.js';
import { baseUrl, curl, finding } from './finding.js';
import { describe, get, isCatchAll, isHtml, isJson, ok, title, type HttpFacts } from './http-util.js';

const ADMIN_WORDS = /\b(admin|administration|dashboard|settings|configuration|control panel|management|console)\b/i;
const LISTING = /Index of \/|Directory listing for/i;

function adminPage(body: string): boolean {
  const heading = /<h1[^>]*>([^<]{0,200})<\/h1>/i.exec(body)?.[1] ?? '';
  const t = title(body);
  return !LISTING.test(t) && !LISTING.test(heading) && (ADMIN_WORDS.test(t) || ADMIN_WORDS.test(heading));
}

function noAuth(obs: ServiceObservation, facts: HttpFacts, tls: boolean): Finding[] {
  if (facts.nodeRed) return []; // nodered.no-auth says it better
  const hits: string[] = [];
  for (const path of ['/', ...ADMIN_PATHS]) {
    const x = get(facts, path);
    const r = x?.response;
    if (!x || !ok(r) || r.body.trim().length === 0 || (path !== '/' && isCatchAll(facts, x))) continue;
    if (isJson(r) || (isHtml(r) && adminPage(r.body))) hits.push(`GET ${path} answered ${describe(r)}`);
  }
  if (hits.length === 0) return [];
  const first = /GET (\S+)/.exec(hits[0]!)![1]!;
  return [
    finding(
      'http.no-auth',
      obs.target,
      `${hits.slice(0, 4).join('; ')} without credentials; check with ${curl(obs.target, tls, first)}`,
    ),
  ];
}

function defaultCredentials(obs: ServiceObservation, facts: HttpFacts, tls: boolean): Finding[] {
  const defaults = new Set<string>(DEFAULT_CREDENTIALS);
  const hit = facts.exchanges.find((x) => x.credentials !== undefined && defaults.has(x.credentials) && ok(x.response));
  if (!hit) return [];
  return [
    finding(
      'http.default-credentials',
      obs.target,
      `GET ${hit.path} with Basic ${hit.credentials} answered ${hit.response!.status} where the same request ` +
        `without credentials got 401; check with ${curl(obs.target, tls, hit.path, { user: hit.credentials! })}`,
    ),
  ];
}

function throttled(x: HttpExchange): boolean {
  const h = x.response?.headers ?? {};
  return (
    x.response?.status === 429 ||
    x.response?.status === 503 ||
    h['retry-after'] !== undefined ||
    Object.keys(h).some((k) => /^(x-)?ratelimit/.test(k))
  );
}

function noRateLimit(obs: ServiceObservation, facts: HttpFacts, tls: boolean): Finding[] {
  const burst = facts.exchanges.filter((x) => x.credentials?.startsWith('edgeward-probe:'));
  const tries = facts.exchanges.filter((x) => x.credentials !== undefined);
  if (burst.length < RATE_LIMIT_BURST || tries.some(throttled)) return [];
  if (!burst.every((x) => x.response?.status === 401)) return [];
  const path = burst[0]!.path;
  return [
    finding(
      'http.no-rate-limit',
      obs.target,
      `A burst of ${burst.length} failed Basic logins for a non-existent user to ${path} all answered 401, and none ` +
        `of the ${tries.length} login attempts got 429, Retry-After or RateLimit headers; check with \`for i in ` +
        `$(seq 20); do curl -${tls ? 'k' : ''}s -o /dev/null -w '%{http_code} ' -u probe:wrong ` +
        `'${baseUrl(obs.target, tls)}${path}'; done\``,
    ),
  ];
}

function nodeRed(obs: ServiceObservation, facts: HttpFacts, tls: boolean): Finding[] {
  if (!facts.nodeRed) return [];
  const flows = get(facts, '/flows')?.response;
  if (ok(flows) && /^\s*\[/.test(flows.body)) {
    return [
      finding(
        'nodered.no-auth',
        obs.target,
        `Node-RED editor: GET /flows answered ${describe(flows)} with the flow configuration and no credentials; ` +
          `check with ${curl(obs.target, tls, '/flows')}`,
      ),
    ];
  }
  const login = get(facts, '/auth/login')?.response;
  if (ok(login) && isJson(login) && !/"type"\s*:/.test(login.body)) {
    return [
      finding(
        'nodered.no-auth',
        obs.target,
        `Node-RED editor: GET /auth/login answered ${JSON.stringify(login.body.trim().slice(0, 40))}, i.e. no ` +
          `adminAuth login scheme; check with ${curl(obs.target, tls, '/auth/login')}`,
      ),
    ];
  }
  return [];
}

export function httpAccessChecks(obs: ServiceObservation): Finding[] {
  if (obs.facts.protocol !== 'http') return [];
  const tls = obs.tls !== undefined;
  return [
    ...noAuth(obs, obs.facts, tls),
    ...defaultCredentials(obs, obs.facts, tls),
    ...noRateLimit(obs, obs.facts, tls),
    ...nodeRed(obs, obs.facts, tls),
  ];
}
