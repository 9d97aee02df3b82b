// One MQTT-over-mTLS connection at a time, re-made with backoff and jitter after every loss.
// A fresh MQTT.js client per attempt: the outbox, not MQTT.js's in-memory queue, decides what is resent.
// With several servers (a cluster without a load balancer) each round tries them all in a random order, moving
// on after a failure or a loss; only once every one has failed does the backoff apply.
import { createSecureContext } from 'node:tls';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { Logger } from '../../../shared/src/index.js';
import type { Backoff } from './backoff.js';

export interface TlsCredentials {
  readonly key: string | Buffer;
  readonly cert: string | Buffer;
  readonly ca: string | Buffer;
}

export interface ConnectionOptions {
  /** The fleet server's mqtts:// addresses: one, or a cluster's nodes. */
  readonly urls: readonly string[];
  readonly clientId: string;
  readonly tls: TlsCredentials;
  /** The will (made fresh per attempt so it carries a new message id). */
  readonly will: () => { topic: string; payload: Buffer };
  readonly backoff: Backoff;
  /** Between servers of one round: a random delay up to this (default 1 s), so a node's devices spread out. */
  readonly failoverJitterMs?: number;
  readonly random?: () => number;
  readonly log: Logger;
  readonly keepaliveSeconds?: number;
  /** A connection that lasts this long resets the backoff. */
  readonly stableAfterMs?: number;
  /** Injected for tests and the simulator. */
  readonly connect?: (url: string, opts: IClientOptions) => MqttClient;
  readonly onConnect: (client: MqttClient, url: string) => void;
  readonly onClose: () => void;
}

export interface Connection {
  readonly connected: boolean;
  readonly client: MqttClient | undefined;
  start(): void;
  /** Stops reconnecting; runs `beforeEnd` (e.g. a last status message) while still connected. */
  stop(beforeEnd?: (client: MqttClient) => Promise<void>): Promise<void>;
}

/** The servers in a random order (Fisher–Yates), not starting with `notFirst` when there is a choice. */
export function serverRound(urls: readonly string[], random: () => number, notFirst?: string): string[] {
  const order = [...urls];
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  if (order.length > 1 && order[0] === notFirst) order.push(order.shift()!);
  return order;
}

/**
 * MQTT.js logs every packet through `debug`, half a dozen calls per publish, and each call allocates its arguments
 * even when nothing is printed: 9% of what a simulated device allocates per sample. MQTT.js's own log stays
 * available with DEBUG=mqttjs* (or DEBUG=*), as its docs say; otherwise its `log` option gets a no-op.
 */
export function quietMqttJs(debug = process.env.DEBUG ?? ''): Pick<IClientOptions, 'log'> {
  const wanted = debug.split(/[\s,]+/).some((p) => p === '*' || p.startsWith('mqttjs'));
  return wanted ? {} : { log: noop };
}
const noop = () => {};
const QUIET_MQTT_JS = quietMqttJs();

export function createConnection(opts: ConnectionOptions): Connection {
  if (opts.urls.length === 0) throw new Error('createConnection needs at least one server');
  const connect = opts.connect ?? mqtt.connect;
  const random = opts.random ?? Math.random;
  // One TLS context for every attempt: parsing the key, certificate and CA into a new one cost 2–4 ms of CPU per
  // attempt (more than the handshake's own crypto here), paid by every device of a fleet reconnecting at once.
  // New credentials (a renewal) come with a new connection.
  const secureContext = createSecureContext({ key: opts.tls.key, cert: opts.tls.cert, ca: opts.tls.ca });
  let round = serverRound(opts.urls, random);
  let next = 0;
  let client: MqttClient | undefined;
  let connected = false;
  let stopped = false;
  let retryTimer: NodeJS.Timeout | undefined;
  let stableTimer: NodeJS.Timeout | undefined;
  let failures = 0;

  function attempt(): void {
    retryTimer = undefined;
    if (stopped) return;
    const will = opts.will();
    const url = round[next]!;
    const c = connect(url, {
      clientId: opts.clientId,
      secureContext,
      rejectUnauthorized: true,
      protocolVersion: 4, // aedes speaks MQTT 3.1.1 only
      clean: true,
      keepalive: opts.keepaliveSeconds ?? 30,
      // MQTT.js's default. A node taking back a killed node's devices answers them all more slowly than one device:
      // giving up sooner throws away the handshake it has done for this device, and the next server starts over.
      connectTimeout: 30_000,
      reconnectPeriod: 0,
      queueQoSZero: false,
      // mqtt-packet otherwise pre-builds 65,536 two-byte Buffers on the first write: about 11 MB of heap,
      // more than the rest of the agent (bench/agent-footprint.ts).
      writeCache: false,
      ...QUIET_MQTT_JS,
      will: { topic: will.topic, payload: will.payload, qos: 1, retain: true },
    } as IClientOptions);
    client = c;
    let lastError: string | undefined;
    c.on('connect', () => {
      // A CONNACK that comes after stop() ended this client (closed while still connecting) starts nothing: the
      // client's stores are closed, and a publish on it throws inside MQTT.js. Its socket is dropped instead.
      if (stopped || client !== c) {
        c.end(true);
        return;
      }
      connected = true;
      opts.log.info('connected', { server: url, afterFailures: failures });
      failures = 0;
      stableTimer = setTimeout(() => opts.backoff.reset(), opts.stableAfterMs ?? 10_000);
      stableTimer.unref?.();
      opts.onConnect(c, url);
    });
    c.on('error', (err) => {
      lastError = err.message;
    });
    c.on('close', () => {
      if (client !== c) return;
      const wasConnected = connected;
      connected = false;
      client = undefined;
      clearTimeout(stableTimer);
      c.removeAllListeners('connect');
      c.end(true);
      c.on('error', () => {}); // late errors of a dead client are not ours to crash on
      if (wasConnected) opts.onClose();
      if (stopped) return;
      failures++;
      // The next server of this round, after a short jitter; when the round is over, a new one after the backoff.
      next++;
      let delay: number;
      if (next < round.length) delay = Math.round(random() * (opts.failoverJitterMs ?? 1000));
      else {
        round = serverRound(opts.urls, random, url);
        next = 0;
        delay = opts.backoff.next();
      }
      opts.log[failures > 3 ? 'warn' : 'info'](wasConnected ? 'connection lost' : 'connection failed', {
        server: url,
        error: lastError ?? null,
        next: round[next]!,
        retryInMs: delay,
      });
      retryTimer = setTimeout(attempt, delay);
      retryTimer.unref?.();
    });
  }

  return {
    get connected() {
      return connected;
    },
    get client() {
      return client;
    },
    start() {
      stopped = false;
      if (!client && !retryTimer) attempt();
    },
    async stop(beforeEnd) {
      stopped = true;
      clearTimeout(retryTimer);
      clearTimeout(stableTimer);
      retryTimer = undefined;
      const c = client;
      if (!c) return;
      if (connected && beforeEnd) {
        await Promise.race([beforeEnd(c).catch(() => {}), new Promise((r) => setTimeout(r, 2000).unref())]);
      }
      // MQTT.js ends gracefully (a DISCONNECT) only once every message in flight is acknowledged, and waits for
      // that without bound: a server that stopped answering (a SUBSCRIBE never acknowledged) would hold the stop
      // for ever. In flight a moment more, it ends by force; an unacknowledged sample stays in the outbox.
      const deadline = Date.now() + 2000;
      while (Object.keys(c.outgoing).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      const force = Object.keys(c.outgoing).length > 0;
      await new Promise<void>((resolve) => c.end(force, {}, () => resolve()));
      client = undefined;
      connected = false;
    },
  };
}
