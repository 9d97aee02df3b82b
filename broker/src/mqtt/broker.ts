// The MQTT listener: aedes behind a TLS server that demands a client certificate from the fleet CA,
// with a per-address connection limit before the handshake and a packet-size guard in front of every connection.
import { Aedes, type Client } from 'aedes';
import type { Socket } from 'node:net';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import type { ServerTlsMaterial } from '../fleet/data-dir.js';
import { listen } from '../listen.js';
import { proxyFront } from '../limits/proxy-front.js';
import { peerSocket } from '../net/proxied-listener.js';
import { createConnectionLimiter } from '../limits/connection-limiter.js';
import { ConnectionRefused, type HandshakeGuard } from '../limits/handshake-guard.js';
import { consumeClientPublishes } from './consume-client-publishes.js';
import { GuardedConnection } from './guarded-connection.js';
import { createHooks, type HookDeps } from './hooks.js';

export interface MqttListenerOptions extends HookDeps {
  readonly host: string;
  readonly port: number;
  readonly tls: ServerTlsMaterial;
  /** Caps the connections still in their TLS handshake (shared with the HTTPS listener). */
  readonly handshakes: HandshakeGuard;
  /** A device's subscription was granted (after aedes stored it, so a publish now reaches it). */
  readonly onSubscribed?: (deviceId: string, topic: string) => void;
  /** A device's last session ended. */
  readonly onDisconnected?: (deviceId: string) => void;
  /**
   * Cluster mode: routing and sessions shared with the other nodes (cluster/aedes-plane.ts). Without it aedes keeps
   * both in memory, as a single node always has. `close` runs after aedes has closed, or given up closing.
   */
  readonly shared?: { readonly mq: unknown; readonly persistence: unknown; close(): Promise<void> };
}

/** How long close() waits for aedes to close over Redis (an unreachable Redis would make it wait for ever). */
const SHARED_CLOSE_MS = 3000;

export interface MqttListener {
  readonly aedes: Aedes;
  readonly server: Server;
  readonly port: number;
  close(): Promise<void>;
}

export async function startMqttListener(opts: MqttListenerOptions): Promise<MqttListener> {
  const { config, metrics, log } = opts;
  const hooks = createHooks(opts);
  const aedes = await Aedes.createBroker({
    preConnect: hooks.preConnect,
    authenticate: hooks.authenticate,
    authorizePublish: hooks.authorizePublish,
    authorizeSubscribe: hooks.authorizeSubscribe,
    authorizeForward: hooks.authorizeForward as never,
    // Device ids are up to 64 characters (MQTT 3.1.1 allows longer client ids than 3.1's 23).
    maxClientsIdLength: 64,
    connectTimeout: config.limits.connectTimeoutSeconds * 1000,
    queueLimit: config.limits.queueLimit,
    maxInflightInbound: 100,
    ...(opts.shared ? { mq: opts.shared.mq, persistence: opts.shared.persistence } : {}),
  });
  consumeClientPublishes(aedes);

  // A session ends when aedes unregisters its client, or when the connection of a client that never finished
  // connecting closes. aedes alone is not enough: a client that closes while aedes still restores its session
  // (after authentication, before registration: a Redis round trip in cluster mode) is registered anyway and never
  // unregistered, and its device would stay online here for ever (docs/aedes.md). A connected client is left to
  // clientDisconnect, which comes after aedes has published its will (the will is checked against its session).
  const ended = (client: Client) => {
    const s = opts.sessions.remove(client);
    if (!s) return;
    opts.connections.closed(s.connectionId);
    if (!opts.sessions.get(s.deviceId)) {
      opts.limiter.forget(s.deviceId);
      const { deviceId } = s;
      hooks.setOnline(deviceId, false, null, Date.now());
      opts.onDisconnected?.(s.deviceId);
      log.info('device disconnected', { deviceId: s.deviceId });
    }
  };
  aedes.on('clientDisconnect', ended);
  aedes.on('subscribe', (subscriptions, client: Client) => {
    const s = client && opts.sessions.of(client);
    if (s) for (const sub of subscriptions) opts.onSubscribed?.(s.deviceId, sub.topic);
  });
  aedes.on('clientError', (client: Client, err: Error) => {
    if (!hooks.clientError(client, err))
      log.debug('client error', { clientId: client?.id ?? null, error: err.message });
  });
  aedes.on('connectionError', (_client: Client, err: Error) => {
    log.debug('connection error', { error: err.message });
  });

  const connectionLimiter = createConnectionLimiter({
    perMinute: config.limits.connectionsPerMinutePerAddress,
    burst: config.limits.connectionBurstPerAddress,
  });
  const server = createServer(
    {
      key: opts.tls.key,
      cert: opts.tls.cert,
      ca: opts.tls.ca,
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.2',
      handshakeTimeout: config.limits.connectTimeoutSeconds * 1000,
    },
    (socket: TLSSocket) => {
      const conn: GuardedConnection = new GuardedConnection(
        socket,
        config.limits.maxPacketBytes,
        ({ size, reason }) => {
          const s = [...opts.sessions.all()].find((x) => x.client.conn === conn);
          const address = peerSocket(socket).remoteAddress ?? null;
          opts.auditLimited.record({
            event: 'limit.packet',
            deviceId: s?.deviceId ?? null,
            address,
            detail: { reason, size, limit: config.limits.maxPacketBytes },
          });
          log.warn('oversized packet: connection closed', {
            deviceId: s?.deviceId ?? null,
            address,
            size,
            reason,
          });
          metrics.disconnects.inc({ reason: `packet-${reason}` });
        },
      );
      const client = aedes.handle(conn);
      conn.once('close', () => {
        if (!client.connected) ended(client);
      });
    },
  );
  // Before any TLS work: a source address opening connections too fast is cut off at TCP accept.
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress ?? 'unknown';
    if (connectionLimiter.allow(address)) {
      // PUBACKs are small and already gathered into one write per device and commit: send them at once rather
      // than wait for the previous segment's ACK (Nagle).
      socket.setNoDelay(true);
      return;
    }
    metrics.denials.inc({ kind: 'connect', reason: 'rate' });
    opts.auditLimited.record({
      event: 'connect.throttled',
      address,
      detail: { limitPerMinute: config.limits.connectionsPerMinutePerAddress },
    });
    socket.destroy(new ConnectionRefused('rate'));
  });
  opts.handshakes.attach(server, 'mqtt');
  // Set when close() begins: a handshake ending after that is not a security event (and the database may be gone).
  let state: 'listening' | 'closing' = 'listening';
  server.on('tlsClientError', (err: Error & { code?: string }, socket: TLSSocket) => {
    const address = peerSocket(socket).remoteAddress ?? null;
    // Node closes a socket whose handshake failed, but not one whose handshake timed out
    // (ERR_TLS_HANDSHAKE_TIMEOUT): without this it would hold its file descriptor forever.
    socket.destroy();
    // Refused by the server itself before the handshake (counted and audited there), or shutting down.
    if (err instanceof ConnectionRefused || state === 'closing') return;
    const reason = err.code ?? err.message.slice(0, 120);
    opts.auditLimited.record({ event: 'tls.denied', address, detail: { reason } }, `tls.denied|${address}|${reason}`);
    log.warn('TLS handshake refused', { address, reason });
    metrics.denials.inc({ kind: 'tls', reason });
  });

  const closeAedes = async () => {
    const closed = new Promise<void>((resolve) => aedes.close(() => resolve()));
    if (!opts.shared) return closed;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([closed, new Promise<void>((resolve) => (timer = setTimeout(resolve, SHARED_CLOSE_MS)))]);
    clearTimeout(timer);
    await opts.shared.close();
  };
  // Behind a load balancer that sends the PROXY protocol, a TCP front reads its header first (the TLS server then
  // gets the connection, its address the device's); otherwise the TLS server listens itself.
  const front = proxyFront(server, 'mqtt', { config, metrics, audit: opts.auditLimited, log });
  const listening = front ?? server;
  let port: number;
  try {
    port = await listen(listening, opts.host, opts.port, 'MQTT');
  } catch (err) {
    // aedes runs timers (its $SYS heartbeat) that would keep the process alive after this failure.
    await closeAedes();
    throw err;
  }
  // An error while listening (accept failing when the process is out of descriptors) must not end the server.
  listening.on('error', (err) => log.error('MQTT listener error', { error: err }));

  return {
    aedes,
    server,
    port,
    async close() {
      // Stop accepting first, then close every client and every handshake in progress (server.close waits for
      // open connections).
      state = 'closing';
      const stopped = new Promise<void>((resolve) => listening.close(() => resolve()));
      opts.handshakes.closePending('mqtt');
      await closeAedes();
      await stopped;
    },
  };
}
