// Helpers the http.* checks share: finding an exchange, content types, and telling real pages from catch-alls.
import type { HttpExchange, HttpResponse, ProtocolFacts } from '../types.js';

export type HttpFacts = Extract<ProtocolFacts, { protocol: 'http' }>;

export const get = (facts: HttpFacts, path: string, method: HttpExchange['method'] = 'GET') =>
  facts.exchanges.find((x) => x.path === path && x.method === method && x.credentials === undefined);

export const ok = (r: HttpResponse | undefined): r is HttpResponse =>
  r !== undefined && r.status >= 200 && r.status < 300;

export const contentType = (r: HttpResponse) => (r.headers['content-type'] ?? '').toLowerCase();

export function isJson(r: HttpResponse): boolean {
  if (contentType(r).includes('json')) return true;
  const body = r.body.trim();
  if (!/^[[{]/.test(body)) return false;
  try {
    JSON.parse(body);
    return true;
  } catch {
    return false;
  }
}

export const isHtml = (r: HttpResponse) => contentType(r).includes('html') || /^\s*<(!doctype html|html)/i.test(r.body);

export function title(body: string): string {
  return (/<title[^>]*>([^<]{0,200})<\/title>/i.exec(body)?.[1] ?? '').trim();
}

/** The random-path reply; when it is a 2xx page, equal bodies elsewhere are a catch-all, not a real resource. */
export function isCatchAll(facts: HttpFacts, x: HttpExchange): boolean {
  const baseline = facts.exchanges.find((e) => e.path.startsWith('/edgeward-probe-'));
  if (!ok(baseline?.response) || !x.response) return false;
  const strip = (s: string, path: string) => s.split(path).join('');
  return strip(x.response.body, x.path) === strip(baseline.response.body, baseline.path);
}

export const describe = (r: HttpResponse) =>
  `${r.status} (${contentType(r).split(';')[0] || 'no content type'}, ${r.body.length} bytes)`;
