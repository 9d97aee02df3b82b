// Puts the MQTT and HTTPS listeners behind one handshake gate: each accepted TCP connection is admitted or refused
// before any TLS work is spent on it, and leaves the gate when its handshake ends or it closes. Refusals are
// counted and audited.
import type { Socket } from 'node:net';
import type { Server, TLSSocket } from 'node:tls';
import type { AuditLimiter } from '../db/audit.js';
import type { FleetMetrics } from '../metrics/fleet-metrics.js';
import { peerSocket } from '../net/proxied-listener.js';
import { createHandshakeGate, type HandshakeGateOptions } from './handshake-gate.js';

export type Listener = 'mqtt' | 'https' | 'downloads';

/**
 * The reason the server itself closed a connection before its handshake. The TLS server reports such a socket
 * with this error in 'tlsClientError' (instead of a bare ECONNRESET), so the refusal is not counted twice.
 */
export class ConnectionRefused extends Error {
  constructor(readonly reason: string) {
    super(`connection refused before the TLS handshake: ${reason}`);
  }
}

export type HandshakeGuard = ReturnType<typeof createHandshakeGuard>;

/**
 * Identifies an open TCP connection; the raw socket and its TLS socket share it (both read from the raw socket, which
 * carries the device's address when a trusted load balancer sent it: net/proxied-listener.ts).
 */
const connectionKey = (socket: Socket) => {
  const s = peerSocket(socket);
  return `${s.remoteAddress}|${s.remotePort}|${s.localAddress}|${s.localPort}`;
};

export function createHandshakeGuard(opts: {
  readonly limits: HandshakeGateOptions;
  readonly metrics: FleetMetrics;
  readonly audit: AuditLimiter;
}) {
  const { limits, metrics, audit } = opts;
  const gate = createHandshakeGate<{ readonly socket: Socket; readonly listener: Listener }>(limits);
  metrics.registry.gauge(
    'edgeward_pending_handshakes',
    'TCP connections on the MQTT and HTTPS ports still in their TLS handshake',
    () => gate.size,
  );

  function refuse(socket: Socket, listener: Listener, address: string, reason: 'per-address' | 'total'): void {
    metrics.denials.inc({ kind: 'connect', reason: `handshakes-${reason}` });
    const limit = reason === 'total' ? limits.maxTotal : limits.maxPerAddress;
    const event = { event: 'connect.refused', address, detail: { reason: `handshakes-${reason}`, limit, listener } };
    // An eviction is caused by all addresses together: one summary row per window, not one per evicted address.
    if (reason === 'total') audit.record(event, 'connect.refused|handshakes-total');
    else audit.record(event);
    socket.destroy(new ConnectionRefused(`handshakes-${reason}`));
  }

  return {
    /**
     * Guards a TLS server. Call it after any other 'connection' listener that may refuse a socket (the connection
     * rate limit): a socket already destroyed is not counted.
     */
    attach(server: Server, listener: Listener): void {
      server.on('connection', (socket: Socket) => {
        if (socket.destroyed) return;
        const address = socket.remoteAddress;
        // No peer address: the connection is already gone.
        if (address === undefined) return void socket.destroy();
        const key = connectionKey(socket);
        const conn = { socket, listener };
        const admission = gate.admit(key, address, conn);
        if (admission.action === 'refused') return refuse(socket, listener, address, 'per-address');
        socket.once('close', () => gate.settle(key, conn));
        if (admission.action === 'admitted-evicting') {
          const { evicted, evictedAddress } = admission;
          refuse(evicted.socket, evicted.listener, evictedAddress, 'total');
        }
      });
      server.on('secureConnection', (socket: TLSSocket) => gate.settle(connectionKey(socket)));
    },
    /** Closes the connections of one listener still in their handshake (it is shutting down). */
    closePending(listener: Listener): void {
      for (const c of [...gate.connections()])
        if (c.listener === listener) c.socket.destroy(new ConnectionRefused('shutting-down'));
    },
  };
}
