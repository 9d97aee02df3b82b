// Header checks on HTTP: CORS, security headers, version disclosure and advertised methods.
import { PROBE_ORIGIN } from '../probes/http.js';
import type { Finding, ServiceObservation } from '../types.js';
import { curl, finding, quote } from './finding.js';
import { get, isHtml, ok, type HttpFacts } from './http-util.js';

const ALWAYS_DANGEROUS = [
  'TRACE',
  'TRACK',
  'CONNECT',
  'PROPFIND',
  'PROPPATCH',
  'MKCOL',
  'COPY',
  'MOVE',
  'LOCK',
  'UNLOCK',
];
const WRITE_METHODS = ['PUT', 'DELETE', 'PATCH'];
const DISCLOSING = ['x-powered-by', 'x-aspnet-version', 'x-aspnetmvc-version', 'x-generator'];

function cors(obs: ServiceObservation, facts: HttpFacts, tls: boolean): Finding[] {
  for (const x of facts.exchanges) {
    const acao = x.response?.headers['access-control-allow-origin'];
    if (acao === undefined || x.credentials !== undefined) continue;
    const reflected = x.origin !== undefined && acao === x.origin;
    if (acao.trim() !== '*' && !reflected) continue;
    const creds = x.response!.headers['access-control-allow-credentials'];
    const what = reflected ? `echoed the probe's Origin ${PROBE_ORIGIN}` : 'sent Access-Control-Allow-Origin: *';
    return [
      finding(
        'http.cors-wildcard',
        obs.target,
        `${x.method} ${x.path} ${what}${creds ? ` with Access-Control-Allow-Credentials: ${creds}` : ''}; check ` +
          `with ${curl(obs.target, tls, x.path, { origin: PROBE_ORIGIN })}`,
      ),
    ];
  }
  return [];
}

function securityHeaders(obs: ServiceObservation, facts: HttpFacts, tls: boolean): Finding[] {
  const r = get(facts, '/')?.response;
  if (!r) return [];
  const h = r.headers;
  const csp = h['content-security-policy'] ?? '';
  const missing: string[] = [];
  if (!/nosniff/i.test(h['x-content-type-options'] ?? '')) missing.push('X-Content-Type-Options: nosniff');
  if (isHtml(r)) {
    if (h['x-frame-options'] === undefined && !/frame-ancestors/i.test(csp))
      missing.push('X-Frame-Options or CSP frame-ancestors');
    if (!csp) missing.push('Content-Security-Policy');
  }
  if (tls && h['strict-transport-security'] === undefined) missing.push('Strict-Transport-Security');
  if (missing.length === 0) return [];
  return [
    finding(
      'http.security-headers',
      obs.target,
      `GET / answered ${r.status} without ${missing.join(', ')}; check with ` +
        `${curl(obs.target, tls, '/', { method: 'HEAD' })}`,
    ),
  ];
}

function disclosure(obs: ServiceObservation, facts: HttpFacts, tls: boolean): Finding[] {
  for (const x of facts.exchanges) {
    const h = x.response?.headers;
    if (!h) continue;
    const shown: string[] = [];
    if (h.server && /\d+\.\d+/.test(h.server)) shown.push(`Server: ${quote(h.server, 60)}`);
    for (const name of DISCLOSING) if (h[name]) shown.push(`${name}: ${quote(h[name], 60)}`);
    if (shown.length)
      return [
        finding(
          'http.server-disclosure',
          obs.target,
          `${x.method} ${x.path} answered with ${shown.join(', ')}; check with ` +
            `${curl(obs.target, tls, x.path, { method: 'HEAD' })}`,
        ),
      ];
  }
  return [];
}

function methods(obs: ServiceObservation, facts: HttpFacts, tls: boolean): Finding[] {
  const r = get(facts, '/', 'OPTIONS')?.response;
  if (!ok(r)) return [];
  const advertised = `${r.headers.allow ?? ''},${r.headers['access-control-allow-methods'] ?? ''}`
    .toUpperCase()
    .split(/[\s,]+/)
    .filter(Boolean);
  // Write methods count only on a server that serves its root without credentials.
  const open = ok(get(facts, '/')?.response);
  const bad = [
    ...new Set(advertised.filter((m) => ALWAYS_DANGEROUS.includes(m) || (open && WRITE_METHODS.includes(m)))),
  ];
  if (bad.length === 0) return [];
  return [
    finding(
      'http.dangerous-methods',
      obs.target,
      `OPTIONS / answered ${r.status} advertising ${bad.join(', ')} (Allow: ${quote(r.headers.allow ?? '', 80)}) ` +
        `without credentials; check with ${curl(obs.target, tls, '/', { method: 'OPTIONS' })}`,
    ),
  ];
}

export function httpHeaderChecks(obs: ServiceObservation): Finding[] {
  if (obs.facts.protocol !== 'http') return [];
  const tls = obs.tls !== undefined;
  return [
    ...cors(obs, obs.facts, tls),
    ...securityHeaders(obs, obs.facts, tls),
    ...disclosure(obs, obs.facts, tls),
    ...methods(obs, obs.facts, tls),
  ];
}
