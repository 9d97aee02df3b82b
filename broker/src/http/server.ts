// The HTTPS side of the fleet server (server-authenticated TLS): /healthz now; enrolment, metrics and the API later.
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../../shared/src/index.js';
import type { ServerTlsMaterial } from '../fleet/data-dir.js';
import type { HandshakeGuard } from '../limits/handshake-guard.js';
import { listen } from '../listen.js';

export type Route = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

export interface HttpOptions {
  readonly host: string;
  readonly port: number;
  readonly tls: ServerTlsMaterial;
  readonly log: Logger;
  readonly routes: Readonly<Record<string, Route>>;
  /** Time a client has to finish its TLS handshake (node's own default is 120 s). */
  readonly handshakeTimeoutMs: number;
  /** Caps the connections still in their TLS handshake (shared with the MQTT listener). */
  readonly handshakes: HandshakeGuard;
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  });
  res.end(text);
}

export async function startHttpServer(
  opts: HttpOptions,
): Promise<{ server: Server; port: number; close(): Promise<void> }> {
  const tlsOptions = {
    key: opts.tls.key,
    cert: opts.tls.cert,
    minVersion: 'TLSv1.2' as const,
    handshakeTimeout: opts.handshakeTimeoutMs,
    // node offers only http/1.1 and ends the handshake of a client whose ALPN list lacks it with a
    // no_application_protocol alert: `curl --http1.0` offers only http/1.0, which this server speaks too.
    // A client that offers no ALPN at all is served as before.
    ALPNProtocols: ['http/1.1', 'http/1.0'],
  };
  const server = createServer(tlsOptions, (req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const route = Object.hasOwn(opts.routes, `${req.method} ${path}`)
      ? opts.routes[`${req.method} ${path}`]
      : undefined;
    if (!route) return sendJson(res, 404, { error: 'not found' });
    Promise.resolve(route(req, res)).catch((err: unknown) => {
      opts.log.error('http handler failed', { path, error: err as Error });
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
      else res.destroy();
    });
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  // After any other 'connection' listener; node's https server closes a socket whose handshake failed or timed out.
  opts.handshakes.attach(server, 'https');
  const port = await listen(server, opts.host, opts.port, 'HTTPS');
  // An error while listening (accept failing when the process is out of descriptors) must not end the server.
  server.on('error', (err) => opts.log.error('HTTPS listener error', { error: err }));
  return {
    server,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        opts.handshakes.closePending('https');
      }),
  };
}
