// The MQTT listener: aedes behind a TLS server that demands a client certificate from the fleet CA.
import { Aedes, type Client } from 'aedes';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import type { Logger } from '../../../shared/src/index.js';
import { FleetError } from '../errors.js';
import type { AuditLog } from '../db/audit.js';
import type { Registry } from '../db/registry.js';
import type { ServerTlsMaterial } from '../fleet/data-dir.js';
import type { Ingest } from '../fleet/ingest.js';
import { createHooks } from './hooks.js';
import type { Sessions } from './sessions.js';

export interface MqttListenerOptions {
  readonly host: string;
  readonly port: number;
  readonly tls: ServerTlsMaterial;
  readonly registry: Registry;
  readonly audit: AuditLog;
  readonly ingest: Ingest;
  readonly sessions: Sessions;
  readonly log: Logger;
  readonly count?: (event: string, reason: string) => void;
}

export interface MqttListener {
  readonly aedes: Aedes;
  readonly server: Server;
  readonly port: number;
  close(): Promise<void>;
}

export async function startMqttListener(opts: MqttListenerOptions): Promise<MqttListener> {
  const hooks = createHooks(opts);
  const aedes = await Aedes.createBroker({
    authenticate: hooks.authenticate,
    authorizePublish: hooks.authorizePublish,
    authorizeSubscribe: hooks.authorizeSubscribe,
    authorizeForward: hooks.authorizeForward as never,
    // Device ids are up to 64 characters (MQTT 3.1.1 allows longer client ids than 3.1's 23).
    maxClientsIdLength: 64,
    connectTimeout: 10_000,
  });

  aedes.on('clientDisconnect', (client: Client) => {
    const s = opts.sessions.remove(client);
    if (s && !opts.sessions.get(s.deviceId)) {
      opts.registry.setOnline(s.deviceId, false, null);
      opts.log.info('device disconnected', { deviceId: s.deviceId });
    }
  });
  aedes.on('clientError', (client: Client, err: Error) => {
    opts.log.debug('client error', { clientId: client?.id ?? null, error: err.message });
  });
  aedes.on('connectionError', (client: Client, err: Error) => {
    opts.log.debug('connection error', { error: err.message });
  });

  const server = createServer(
    {
      key: opts.tls.key,
      cert: opts.tls.cert,
      ca: opts.tls.ca,
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.2',
      handshakeTimeout: 10_000,
    },
    (socket: TLSSocket) => aedes.handle(socket),
  );
  server.on('tlsClientError', (err: Error & { code?: string }, socket: TLSSocket) => {
    const address = socket.remoteAddress ?? null;
    const reason = err.code ?? err.message.slice(0, 120);
    opts.audit.record({ event: 'tls.denied', address, detail: { reason } });
    opts.log.warn('TLS handshake refused', { address, reason });
    opts.count?.('tls.denied', reason);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(new FleetError('FLEET_LISTEN', `cannot listen for MQTT on ${opts.host}:${opts.port}: ${err.code ?? err.message}`, { cause: err })),
    );
    server.listen(opts.port, opts.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : opts.port;

  return {
    aedes,
    server,
    port,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
    },
  };
}
