// The HTTPS listener of the fleet server (server-authenticated TLS) around the HTTP app's request handler:
// bounded header size, header and request timeouts so a slow client cannot hold a connection, and listen errors
// as FLEET_LISTEN.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import { FleetError } from '../errors.js';
import type { ServerTlsMaterial } from '../fleet/data-dir.js';

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

/** Request headers larger than this are refused (431). */
export const MAX_HEADER_BYTES = 16 * 1024;

export interface HttpTimeouts {
  /** The request headers must have arrived within this (slowloris). */
  readonly headersTimeoutMs: number;
  /** The whole request must have arrived within this. */
  readonly requestTimeoutMs: number;
}

export const DEFAULT_HTTP_TIMEOUTS: HttpTimeouts = { headersTimeoutMs: 10_000, requestTimeoutMs: 30_000 };

export function createHttpsServer(
  tls: ServerTlsMaterial,
  handler: RequestHandler,
  timeouts: HttpTimeouts = DEFAULT_HTTP_TIMEOUTS,
): Server {
  const server = createServer(
    {
      key: tls.key,
      cert: tls.cert,
      minVersion: 'TLSv1.2',
      maxHeaderSize: MAX_HEADER_BYTES,
      // HTTP/1.0 clients (curl --http1.0) offer ALPN http/1.0; clients that offer none are accepted too.
      ALPNProtocols: ['http/1.1', 'http/1.0'],
      // Node checks the two timeouts below only this often (30 s by default), so a 10 s header timeout would let a
      // slow client hold its connection for up to 40 s.
      connectionsCheckingInterval: Math.min(1000, timeouts.headersTimeoutMs / 2),
    },
    handler,
  );
  // A client that sends its headers too slowly (slowloris) or never finishes its request is dropped.
  server.headersTimeout = timeouts.headersTimeoutMs;
  server.requestTimeout = timeouts.requestTimeoutMs;
  server.keepAliveTimeout = 5_000;
  return server;
}

export async function listenHttps(server: Server, host: string, port: number): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) =>
      reject(
        new FleetError('FLEET_LISTEN', `cannot listen for HTTPS on ${host}:${port}: ${err.code ?? err.message}`, {
          cause: err,
        }),
      );
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const address = server.address();
  return typeof address === 'object' && address ? address.port : port;
}
