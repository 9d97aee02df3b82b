// The HTTPS listener of the fleet server (server-authenticated TLS) around the HTTP app's request handler:
// bounded header size, header and request timeouts so a slow client cannot hold a connection, a handshake
// timeout and the shared cap on unfinished handshakes, and listen errors as FLEET_LISTEN.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { Server as NetServer } from 'node:net';
import type { Logger } from '../../../shared/src/index.js';
import type { ServerTlsMaterial } from '../fleet/data-dir.js';
import type { HandshakeGuard, Listener } from '../limits/handshake-guard.js';
import { listen } from '../listen.js';

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

/** Request headers larger than this are refused (431). */
export const MAX_HEADER_BYTES = 16 * 1024;

export interface HttpTimeouts {
  /** The request headers must have arrived within this (slowloris). */
  readonly headersTimeoutMs: number;
  /** The whole request must have arrived within this. */
  readonly requestTimeoutMs: number;
}

export interface HttpsServerOptions {
  readonly tls: ServerTlsMaterial;
  /** From the config's `api` section (its defaults are the only ones). */
  readonly timeouts: HttpTimeouts;
  /** Time a client has to finish its TLS handshake (node's own default is 120 s). */
  readonly handshakeTimeoutMs: number;
  /** Caps the connections still in their TLS handshake (shared with the MQTT listener). */
  readonly handshakes: HandshakeGuard;
  /**
   * Mutual TLS: a client must present a certificate of the fleet CA (`tls.ca`) or its handshake fails (the device
   * download listener). Without it the server asks for none.
   */
  readonly requireClientCertificate?: boolean;
  /** The handshake guard's name for this listener (default https). */
  readonly listener?: Listener;
}

export function createHttpsServer(opts: HttpsServerOptions, handler: RequestHandler): Server {
  const { timeouts } = opts;
  const server = createServer(
    {
      key: opts.tls.key,
      cert: opts.tls.cert,
      minVersion: 'TLSv1.2',
      maxHeaderSize: MAX_HEADER_BYTES,
      handshakeTimeout: opts.handshakeTimeoutMs,
      // node offers only http/1.1 and ends the handshake of a client whose ALPN list lacks it with a
      // no_application_protocol alert: `curl --http1.0` offers only http/1.0, which this server speaks too.
      // A client that offers no ALPN at all is served as before.
      ALPNProtocols: ['http/1.1', 'http/1.0'],
      // Node checks the two timeouts below only this often (30 s by default), so a 10 s header timeout would let a
      // slow client hold its connection for up to 40 s.
      connectionsCheckingInterval: Math.min(1000, timeouts.headersTimeoutMs / 2),
      ...(opts.requireClientCertificate ? { ca: opts.tls.ca, requestCert: true, rejectUnauthorized: true } : {}),
    },
    handler,
  );
  // A client that sends its headers too slowly (slowloris) or never finishes its request is dropped.
  server.headersTimeout = timeouts.headersTimeoutMs;
  server.requestTimeout = timeouts.requestTimeoutMs;
  server.keepAliveTimeout = 5_000;
  // After any other 'connection' listener; node's https server closes a socket whose handshake failed or timed out.
  opts.handshakes.attach(server, opts.listener ?? 'https');
  return server;
}

/**
 * Opens the port, on `server` or on the PROXY protocol front that hands it its connections (limits/proxy-front.ts);
 * then an error while listening (accept failing when out of descriptors) is logged, not fatal. Returns the port and
 * the server that listens, which is the one to close.
 */
export async function listenHttps(
  server: Server,
  front: NetServer | undefined,
  where: { readonly host: string; readonly port: number },
  log: Logger,
): Promise<{ readonly port: number; readonly listening: NetServer }> {
  const listening = front ?? server;
  const port = await listen(listening, where.host, where.port, 'HTTPS');
  listening.on('error', (err) => log.error('HTTPS listener error', { error: err }));
  return { port, listening };
}
