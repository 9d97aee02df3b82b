// Content checks on HTTP: directory listings, sensitive files, debug endpoints and stack traces in errors.
import type { Finding, HttpExchange, ServiceObservation } from '../types.js';
import { curl, finding, quote } from './finding.js';
import {
  countsAsFolderListing,
  linkedFolders,
  listedEntries,
  RANDOM_FOLDER_PREFIX,
  rootCountsAsListing,
} from '../probes/http-folders.js';
import { describe, get, isCatchAll, ok, title, type HttpFacts } from './http-util.js';

/** Body signatures that prove a file is what its name says (so a catch-all page never counts). */
const SENSITIVE: Record<string, (body: string) => boolean> = {
  '/.env': (b) => !/<html|<!doctype/i.test(b) && /^[A-Z][A-Z0-9_]{1,63}=/m.test(b.slice(0, 4096)),
  '/.git/config': (b) => /\[core\]/.test(b) && /repositoryformatversion/.test(b),
  '/.htpasswd': (b) => /^[^:\s<]{1,64}:(\$apr1\$|\$2[aby]\$|\{SHA\}|\$[56]\$|[./0-9A-Za-z]{13}$)/m.test(b),
  '/backup.zip': (b) => b.startsWith('PK\x03\x04'),
  '/backup.tar.gz': (b) => b.startsWith('\x1f\x8b'),
  '/backup.sql': (b) => /(CREATE TABLE|INSERT INTO|-- MySQL dump|PostgreSQL database dump)/i.test(b.slice(0, 8192)),
  '/dump.sql': (b) => /(CREATE TABLE|INSERT INTO|-- MySQL dump|PostgreSQL database dump)/i.test(b.slice(0, 8192)),
};

const DEBUG: Record<string, { what: string; test: (body: string) => boolean }> = {
  '/debug/pprof/': { what: 'Go pprof profiler index', test: (b) => /\/debug\/pprof\//.test(b) && /goroutine/.test(b) },
  '/debug/vars': { what: 'Go expvar dump', test: (b) => /"memstats"\s*:/.test(b) && /"cmdline"\s*:/.test(b) },
  '/actuator/env': {
    what: 'Spring Boot actuator environment',
    test: (b) => /"propertySources"\s*:|"activeProfiles"\s*:/.test(b),
  },
  '/server-status': { what: 'Apache server-status page', test: (b) => /Apache Server Status|Server uptime:/i.test(b) },
  '/phpinfo.php': { what: 'phpinfo() page', test: (b) => /phpinfo\(\)|<title>PHP \d/i.test(b) },
  '/console': { what: 'Werkzeug interactive console', test: (b) => /Werkzeug/i.test(b) && /console/i.test(b) },
};

/** Stack-trace shapes of the common server stacks. */
const TRACES: readonly [string, RegExp][] = [
  ['Node.js', /\b\w*(Error|Exception)\b[^\n]*\n\s+at \S[^\n]*(\(|:\d+:\d+)/],
  ['Python', /Traceback \(most recent call last\):/],
  ['Java', /\bat [\w$.]+\([\w$]+\.java:\d+\)/],
  ['PHP', /(Fatal error|Parse error|Warning)(<\/b>)?:.{0,300} on line (<b>)?\d+|Stack trace:\s*(<br \/>)?\s*#0 /],
  ['Go', /goroutine \d+ \[running\]:/],
  ['.NET', /\bat [\w.`<>]+\(.*\) in .+:line \d+|Server Error in '\/' Application/],
];

/** The listing to report: / itself, else the folder the depth search stopped at (judged against its baseline). */
function listingExchange(facts: HttpFacts): { x: HttpExchange; how: string } | undefined {
  const root = get(facts, '/');
  if (root && rootCountsAsListing(root, facts.exchanges)) return { x: root, how: '' };
  const baseline = facts.exchanges.find((e) => e.path.startsWith(RANDOM_FOLDER_PREFIX));
  const linked = linkedFolders(ok(root?.response) ? root.response.body : '');
  for (const x of facts.exchanges) {
    if (x.method !== 'GET' || x.credentials !== undefined || !/^\/[^/]+\/$/.test(x.path) || x === baseline) continue;
    if (countsAsFolderListing(x, baseline))
      return { x, how: linked.includes(x.path) ? ' (a folder linked from /)' : ' (a common folder name)' };
  }
  return undefined;
}

function directoryListing(obs: ServiceObservation, facts: HttpFacts, tls: boolean): Finding[] {
  const hit = listingExchange(facts);
  if (!hit) return [];
  const { x, how } = hit;
  const r = x.response!;
  const entries = listedEntries(r.body);
  const more = entries.length > 4 ? ['…'] : [];
  const shown = [...entries.slice(0, 4).map((e) => quote(e, 40)), ...more].join(', ');
  return [
    finding(
      'http.directory-listing',
      obs.target,
      `GET ${x.path}${how} answered ${describe(r)}: a directory listing titled ` +
        `${quote(title(r.body) || 'Index of')} with ${entries.length} entries (${shown}); check with ` +
        curl(obs.target, tls, x.path),
    ),
  ];
}

function sensitiveFiles(obs: ServiceObservation, facts: HttpFacts, tls: boolean): Finding[] {
  const hits: HttpExchange[] = [];
  for (const [path, test] of Object.entries(SENSITIVE)) {
    const x = get(facts, path);
    if (x && ok(x.response) && !isCatchAll(facts, x) && test(x.response.body)) hits.push(x);
  }
  if (hits.length === 0) return [];
  const list = hits.map((x) => `GET ${x.path} answered ${describe(x.response!)}`).join('; ');
  return [
    finding(
      'http.sensitive-file',
      obs.target,
      `${list}; the content matches the file type; check with ${curl(obs.target, tls, hits[0]!.path)}`,
    ),
  ];
}

function debugEndpoints(obs: ServiceObservation, facts: HttpFacts, tls: boolean): Finding[] {
  const hits: string[] = [];
  let firstPath = '';
  for (const [path, sig] of Object.entries(DEBUG)) {
    const x = get(facts, path);
    if (x && ok(x.response) && !isCatchAll(facts, x) && sig.test(x.response.body)) {
      hits.push(`GET ${path} answered ${x.response.status} with a ${sig.what}`);
      firstPath ||= path;
    }
  }
  if (hits.length === 0) return [];
  return [
    finding('http.debug-endpoint', obs.target, `${hits.join('; ')}; check with ${curl(obs.target, tls, firstPath)}`),
  ];
}

function verboseErrors(obs: ServiceObservation, facts: HttpFacts, tls: boolean): Finding[] {
  for (const x of facts.exchanges) {
    const r = x.response;
    if (!r || r.status < 400 || x.credentials !== undefined) continue;
    for (const [stack, re] of TRACES) {
      const m = re.exec(r.body);
      if (!m) continue;
      const line = m[0]
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean)
        .slice(0, 2)
        .join(' / ');
      return [
        finding(
          'http.verbose-errors',
          obs.target,
          `GET ${x.path} answered ${r.status} with a ${stack} stack trace: ${quote(line, 160)}; check with ` +
            `${curl(obs.target, tls, x.path)}`,
        ),
      ];
    }
  }
  return [];
}

export function httpContentChecks(obs: ServiceObservation): Finding[] {
  if (obs.facts.protocol !== 'http') return [];
  const tls = obs.tls !== undefined;
  return [
    ...directoryListing(obs, obs.facts, tls),
    ...sensitiveFiles(obs, obs.facts, tls),
    ...debugEndpoints(obs, obs.facts, tls),
    ...verboseErrors(obs, obs.facts, tls),
  ];
}
