// What every HTTPS answer carries, including those fastify never sees: the security headers, set on the raw
// response before any handler runs, and the problem document Node's HTTP parser errors (headers too large, a
// slow client, a malformed request) are answered with before the connection is closed.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { PROBLEM_TYPE, problem } from './errors.js';

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-origin',
  'cache-control': 'no-store',
};

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** The request handler with the security headers already on every response (routes, 404s, fastify's own). */
export function withSecurityHeaders(handler: Handler): Handler {
  return (req, res) => {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
    handler(req, res);
  };
}

/**
 * Answers a request Node's HTTP parser refused (fastify's clientErrorHandler), then closes the connection:
 * 431 for headers above the cap, 408 for a client too slow to send its request, 400 for anything malformed.
 */
export function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  // A reset connection has no one to answer.
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const p =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? problem(431, 'API_HEADERS_TOO_LARGE', 'the request headers are larger than the server accepts')
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? problem(408, 'API_REQUEST_TIMEOUT', 'the request did not arrive in time; the connection is closed')
        : problem(400, 'API_INVALID_REQUEST', 'the request is not well-formed HTTP/1.1');
  if (socket.writable) {
    const body = JSON.stringify(p);
    const headers = {
      ...SECURITY_HEADERS,
      'content-type': PROBLEM_TYPE,
      'content-length': String(Buffer.byteLength(body)),
      connection: 'close',
    };
    const head = Object.entries(headers)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('');
    socket.write(`HTTP/1.1 ${p.status} ${p.title}\r\n${head}\r\n${body}`);
  }
  socket.destroy();
}
