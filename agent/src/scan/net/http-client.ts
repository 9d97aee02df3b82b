// A minimal, read-only HTTP/1.1 client for probes: GET, HEAD and OPTIONS only, one request per connection,
// every reply size-capped and parsed leniently (a hostile server gets a "no", never a crash).
import type { HttpExchange, HttpResponse, ProbeTarget } from '../types.js';
import { budget, withConn, type Dial, type ProbeContext } from './conn.js';

export const USER_AGENT = 'edgeward-exposure-scan/1';
const MAX_HEADERS = 100;

export interface HttpRequest {
  readonly method: 'GET' | 'HEAD' | 'OPTIONS';
  readonly path: string;
  /** user:password for Basic authentication (RFC 7617). */
  readonly credentials?: string;
  readonly origin?: string;
}

export function hostHeader(target: ProbeTarget): string {
  return `${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}`;
}

export function buildRequest(target: ProbeTarget, req: HttpRequest): string {
  const lines = [
    `${req.method} ${req.path} HTTP/1.1`,
    `Host: ${hostHeader(target)}`,
    `User-Agent: ${USER_AGENT}`,
    'Accept: */*',
    'Connection: close',
  ];
  if (req.credentials !== undefined)
    lines.push(`Authorization: Basic ${Buffer.from(req.credentials, 'utf8').toString('base64')}`);
  if (req.origin !== undefined) lines.push(`Origin: ${req.origin}`);
  return `${lines.join('\r\n')}\r\n\r\n`;
}

interface Head {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly bodyStart: number;
}

function parseHead(data: Buffer): Head | undefined {
  let start = 0;
  // Skip interim 1xx responses (RFC 9110 §15.2).
  for (let guard = 0; guard < 5; guard++) {
    const end = data.indexOf('\r\n\r\n', start, 'latin1');
    if (end < 0) return undefined;
    const text = data.subarray(start, end).toString('latin1');
    const lines = text.split(/\r?\n/);
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '');
    if (!m) return undefined;
    const status = Number(m[1]);
    if (status >= 100 && status < 200) {
      start = end + 4;
      continue;
    }
    const headers: Record<string, string> = Object.create(null);
    for (const line of lines.slice(1, MAX_HEADERS + 1)) {
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
    }
    return { status, headers, bodyStart: end + 4 };
  }
  return undefined;
}

/** True once `data` holds a whole response (by Content-Length, the chunked terminator, or HEAD). */
export function responseComplete(data: Buffer, method: HttpRequest['method']): boolean {
  const head = parseHead(data);
  if (!head) return false;
  if (method === 'HEAD' || head.status === 204 || head.status === 304) return true;
  const body = data.length - head.bodyStart;
  if (/chunked/i.test(head.headers['transfer-encoding'] ?? ''))
    return data.indexOf('\r\n0\r\n', head.bodyStart - 2, 'latin1') >= 0;
  const len = head.headers['content-length'];
  if (len !== undefined && /^\d+$/.test(len)) return body >= Number(len);
  return false;
}

function dechunk(raw: Buffer): Buffer {
  const parts: Buffer[] = [];
  let pos = 0;
  while (pos < raw.length) {
    const eol = raw.indexOf('\r\n', pos, 'latin1');
    if (eol < 0) break;
    const size = parseInt(raw.subarray(pos, eol).toString('latin1').split(';')[0]!.trim(), 16);
    if (!Number.isFinite(size) || size <= 0) break;
    parts.push(raw.subarray(eol + 2, eol + 2 + size));
    pos = eol + 2 + size + 2;
  }
  return parts.length ? Buffer.concat(parts) : raw;
}

/** Parses whatever arrived; undefined when it is not an HTTP/1.x response at all. */
export function parseResponse(data: Buffer): HttpResponse | undefined {
  const head = parseHead(data);
  if (!head) {
    // A status line without the blank line (truncated or capped) still counts, with no body.
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(data.subarray(0, 64).toString('latin1'));
    return m ? { status: Number(m[1]), headers: {}, body: '' } : undefined;
  }
  let body = data.subarray(head.bodyStart);
  if (/chunked/i.test(head.headers['transfer-encoding'] ?? '')) body = dechunk(body);
  return { status: head.status, headers: head.headers, body: body.toString('latin1') };
}

export function looksLikeHttp(data: Buffer): boolean {
  return data.subarray(0, 8).toString('latin1').startsWith('HTTP/1.');
}

/** One request on its own connection. Failures are recorded in the exchange, never thrown. */
export async function httpRequest(
  ctx: ProbeContext,
  dial: Dial,
  target: ProbeTarget,
  req: HttpRequest,
  timeoutMs = ctx.probeTimeoutMs,
): Promise<HttpExchange> {
  const base: HttpExchange = {
    method: req.method,
    path: req.path,
    ...(req.credentials !== undefined ? { credentials: req.credentials } : {}),
    ...(req.origin !== undefined ? { origin: req.origin } : {}),
  };
  try {
    return await withConn(dial, async (conn) => {
      conn.write(buildRequest(target, req));
      const { data } = await conn.waitFor((d) => responseComplete(d, req.method), budget(ctx, timeoutMs));
      const response = parseResponse(data);
      return response
        ? { ...base, response }
        : { ...base, error: conn.error ?? (data.length ? 'not an HTTP response' : 'no response') };
    });
  } catch (err) {
    return { ...base, error: (err as NodeJS.ErrnoException).code ?? (err as Error).message };
  }
}
