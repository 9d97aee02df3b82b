// One level down for directory listings: folders linked from the root page and common folder names, behind a
// random-folder baseline so a server that answers every path the same way is never counted.
import { isHtml, ok, title } from '../checks/http-util.js';
import { httpRequest } from '../net/http-client.js';
import type { HttpExchange, HttpResponse } from '../types.js';
import type { ProbeArgs } from './probe.js';

/**
 * Where people drop files to share or keep (backup, files, uploads, downloads, pub) and what a gateway holds that
 * should never be listed (logs, data, config, firmware); static and tmp are where autoindex is left on by mistake.
 */
export const FOLDER_NAMES = [
  'backup',
  'backups',
  'files',
  'uploads',
  'downloads',
  'pub',
  'data',
  'logs',
  'config',
  'firmware',
  'static',
  'tmp',
] as const;
/** Requests the depth search may send to one service, the random-folder baseline included. */
export const FOLDER_REQUEST_CAP = 16;
/** At most this many of them go to folders the root page links to; the rest to FOLDER_NAMES. */
export const LINKED_FOLDER_CAP = 8;
/** What every random path the HTTP probe asks starts with (see probes/http.ts). */
export const RANDOM_PATH_PREFIX = '/edgeward-probe-';
/** The baseline folder's prefix: a random name no real server has, asked first. */
export const RANDOM_FOLDER_PREFIX = `${RANDOM_PATH_PREFIX}dir-`;

const TITLE = /^(Index of \/|Directory listing for )/i;
const HEADING = /<h1[^>]{0,200}>\s*(Index of \/|Directory listing for )/i;
// Attributes before href are bounded, so a hostile page of unclosed "<a " tags costs linear time, not quadratic.
const HREF = /<a\s[^>]{0,300}?href\s*=\s*(?:"([^"]{1,300})"|'([^']{1,300})'|([^\s"'>]{1,300}))/gi;
/** One path segment of unreserved characters and percent escapes (RFC 3986 §2.3); "." and ".." are refused. */
const SEGMENT = /^(?:[A-Za-z0-9._~-]|%[0-9A-Fa-f]{2}){1,64}$/;

function hrefs(body: string): string[] {
  return [...body.slice(0, 64 * 1024).matchAll(HREF)].map((m) => (m[1] ?? m[2] ?? m[3] ?? '').trim());
}

/**
 * The entries a listing links to: relative hrefs that are not the parent folder, sort links (Apache's ?C=N;O=D)
 * or absolute URLs. Each one is a file or folder the page gives away.
 */
export function listedEntries(body: string): string[] {
  return hrefs(body).filter((h) => h !== '' && !/^(\.\.?\/?$|\/|\?|#|[a-z][a-z0-9+.-]*:)/i.test(h));
}

/**
 * Strict on purpose: an "Index of /…" or "Directory listing for /…" title or heading AND at least one entry, so a
 * single-page app that serves index.html everywhere, or a page that merely mentions the words, never counts.
 */
export function isDirectoryListing(r: HttpResponse | undefined): boolean {
  if (!ok(r) || !isHtml(r)) return false;
  return (TITLE.test(title(r.body)) || HEADING.test(r.body)) && listedEntries(r.body).length > 0;
}

/** Same-origin folders one segment below / that the root page links to (`name/`, `./name/`, `/name/`). */
export function linkedFolders(body: string): string[] {
  const out: string[] = [];
  for (const h of hrefs(body)) {
    const m = /^(?:\.\/|\/)?([^/?#]+)\/$/.exec(h);
    if (!m || !SEGMENT.test(m[1]!) || m[1] === '.' || m[1] === '..') continue;
    const path = `/${m[1]}/`;
    if (!out.includes(path) && !path.startsWith(RANDOM_FOLDER_PREFIX)) out.push(path);
  }
  return out;
}

/** The folders to try, linked ones first (the page itself points at them), deduplicated and capped. */
export function folderPlan(rootBody: string): string[] {
  const linked = linkedFolders(rootBody).slice(0, LINKED_FOLDER_CAP);
  const common = FOLDER_NAMES.map((n) => `/${n}/`).filter((p) => !linked.includes(p));
  return [...linked, ...common].slice(0, FOLDER_REQUEST_CAP - 1);
}

const sameBody = (a: HttpExchange, b: HttpExchange) =>
  a.response !== undefined &&
  b.response !== undefined &&
  a.response.body.split(a.path).join('') === b.response.body.split(b.path).join('');

/**
 * Whether a folder's reply is a listing worth reporting, judged against the random folder's reply: when the random
 * folder also lists, or answers 2xx with the same page, the server answers every path that way.
 */
export function countsAsFolderListing(x: HttpExchange, baseline: HttpExchange | undefined): boolean {
  if (!isDirectoryListing(x.response)) return false;
  // Never trust a folder without an answered baseline beside it: a silent baseline rules nothing out.
  if (!baseline?.response) return false;
  if (!ok(baseline.response)) return true;
  return !isDirectoryListing(baseline.response) && !sameBody(x, baseline);
}

/**
 * Whether GET / is a listing worth reporting: not when a random path (the survey's or the random folder) answers
 * 2xx with a listing or the very same page. Bodies are compared whole: stripping the path "/" would mangle them.
 */
export function rootCountsAsListing(root: HttpExchange, exchanges: readonly HttpExchange[]): boolean {
  if (!root.response || !isDirectoryListing(root.response)) return false;
  const body = root.response.body;
  return !exchanges.some(
    (e) =>
      e.path.startsWith(RANDOM_PATH_PREFIX) &&
      ok(e.response) &&
      (isDirectoryListing(e.response) || e.response.body === body),
  );
}

/**
 * Sends the baseline, then the planned folders one at a time, and stops at the first listing, at the cap, at the
 * first request with no answer, or when the scan's time budget is spent. A baseline that lists or goes unanswered
 * ends the search at once.
 */
export async function folderSearch(args: ProbeArgs, root: HttpExchange): Promise<HttpExchange[]> {
  const { ctx, dial, target } = args;
  if (ctx.remaining() <= 0) return [];
  const random = `${RANDOM_FOLDER_PREFIX}${ctx.env.randomBytes(6).toString('hex')}/`;
  const baseline = await httpRequest(ctx, dial, target, { method: 'GET', path: random });
  const out = [baseline];
  if (!baseline.response || isDirectoryListing(baseline.response)) return out;
  const rootBody = ok(root.response) && isHtml(root.response) ? root.response.body : '';
  for (const path of folderPlan(rootBody)) {
    if (ctx.remaining() <= 0) break;
    const x = await httpRequest(ctx, dial, target, { method: 'GET', path });
    out.push(x);
    // A folder that gets no answer means a slow or failing server: the rest would only spend the scan's budget.
    if (!x.response || countsAsFolderListing(x, baseline)) break;
  }
  return out;
}
