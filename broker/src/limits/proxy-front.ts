// The MQTT and HTTPS listeners behind load balancers that send the PROXY protocol (config proxyProtocol): one TCP
// front per listener, whose refusals are counted, audited and logged alike.
import type { Server } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Logger } from '../../../shared/src/index.js';
import type { FleetConfig } from '../config.js';
import type { AuditLimiter } from '../db/audit.js';
import type { FleetMetrics } from '../metrics/fleet-metrics.js';
import { createProxyFront, peerSocket, trustedProxies } from '../net/proxied-listener.js';
import type { Listener } from './handshake-guard.js';

export interface ProxyFrontDeps {
  readonly config: FleetConfig;
  readonly metrics: FleetMetrics;
  readonly audit: AuditLimiter;
  readonly log: Logger;
}

/**
 * The server that must listen in place of the TLS server `server`: a PROXY protocol front when balancers are trusted,
 * handing it each connection with the device's or client's address; undefined when none is (the TLS server listens).
 */
export function proxyFront(server: Server, listener: Listener, deps: ProxyFrontDeps): Server | undefined {
  const { config, metrics, audit, log } = deps;
  if (config.proxyProtocol.trustedProxies.length === 0) return undefined;
  // Once the handshake is done the TLS socket reports the proxied address itself (an HTTP request's ip, an aedes
  // client's connection): before that only the TCP socket carries it (peerSocket).
  server.on('secureConnection', (socket: TLSSocket) => {
    const tcp = peerSocket(socket);
    if (tcp === socket || tcp.remoteAddress === socket.remoteAddress) return;
    Object.defineProperties(socket, {
      remoteAddress: { value: tcp.remoteAddress, configurable: true },
      remotePort: { value: tcp.remotePort, configurable: true },
      remoteFamily: { value: tcp.remoteFamily, configurable: true },
    });
  });
  return createProxyFront({
    trusted: trustedProxies(config.proxyProtocol.trustedProxies),
    timeoutMs: config.limits.connectTimeoutSeconds * 1000,
    accept: (socket) => server.emit('connection', socket),
    refused: (socket, err) => {
      const address = socket.remoteAddress ?? null;
      metrics.denials.inc({ kind: 'proxy', reason: 'header' });
      audit.record({
        event: 'connect.refused',
        address,
        detail: { reason: 'proxy-header', listener, error: err.message },
      });
      log.warn('connection from a trusted proxy refused: no valid PROXY header', {
        listener,
        address,
        error: err.message,
      });
    },
  });
}
