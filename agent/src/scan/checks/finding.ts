// Builds findings from the catalogue: severity by reachability, text bounded to the report schema's limits.
import { hostPort } from '../addresses.js';
import { checkDefinition } from '../catalogue.js';
import type { Finding, ProbeTarget } from '../types.js';

const clip = (s: string, max: number) => (s.length <= max ? s : `${s.slice(0, max - 1)}…`);

export function finding(check: string, target: ProbeTarget, evidence: string): Finding {
  const def = checkDefinition(check);
  return {
    check,
    severity: target.loopbackOnly ? def.loopbackSeverity : def.severity,
    category: def.category,
    port: target.port,
    transport: target.transport,
    title: def.title,
    evidence: clip(evidence, 1024),
    remediation: clip(def.remediation, 600),
    references: [...def.references],
  };
}

/** host:port of a target. */
export const where = (t: ProbeTarget) => hostPort(t.host, t.port);

export const baseUrl = (t: ProbeTarget, tls: boolean) => `${tls ? 'https' : 'http'}://${where(t)}`;

/** A curl command line that repeats one probe request by hand. */
export function curl(
  t: ProbeTarget,
  tls: boolean,
  path: string,
  opts: { method?: string; user?: string; origin?: string } = {},
): string {
  const parts = [tls ? 'curl -ksi' : 'curl -si'];
  if (opts.method && opts.method !== 'GET') parts.push(opts.method === 'HEAD' ? '-I' : `-X ${opts.method}`);
  if (opts.user) parts.push(`-u '${opts.user}'`);
  if (opts.origin) parts.push(`-H 'Origin: ${opts.origin}'`);
  parts.push(`'${baseUrl(t, tls)}${path}'`);
  return `\`${parts.join(' ')}\``;
}

/** Quotes a hostile string for evidence text (printable ASCII, bounded). */
export const quote = (s: string, max = 80) => JSON.stringify(s.replace(/[^\x20-\x7e]/g, '?').slice(0, max));
