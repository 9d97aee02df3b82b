// The aedes policy hooks: authenticate by certificate, authorize by the ACL, rate-limit per device,
// and hand device messages to ingest (PUBACK after commit).
import type { AuthenticateError, Client, ConnectPacket, PublishPacket, Subscription } from 'aedes';
import {
  type Channel,
  isDevicePublishChannel,
  isValidDeviceId,
  parseTopic,
  tryParseTopic,
  type Logger,
} from '../../../shared/src/index.js';
import { rateFor, type FleetConfig } from '../config.js';
import type { AuditLimiter, AuditLog } from '../db/audit.js';
import type { ConnectionLog } from '../db/connections.js';
import type { WriteBehind } from '../db/write-behind.js';
import type { CertificateCheck, Registry } from '../db/registry.js';
import type { Ingest } from '../fleet/ingest.js';
import type { PublishLimiter } from '../limits/publish-limiter.js';
import type { FleetMetrics } from '../metrics/fleet-metrics.js';
import { authorizePublish, authorizeSubscribe, type Identity } from './acl.js';
import { brokerRefusal } from './broker-refusals.js';
import { tlsSocketOf } from './guarded-connection.js';
import { peerIdentity } from './peer-certificate.js';
import type { Sessions } from './sessions.js';

export interface HookDeps {
  readonly config: FleetConfig;
  readonly registry: Registry;
  readonly audit: Pick<AuditLog, 'record'>;
  readonly auditLimited: AuditLimiter;
  readonly connections: ConnectionLog;
  /** Bookkeeping writes batched per event-loop turn (online flags). */
  readonly writeBehind: WriteBehind;
  readonly ingest: Ingest;
  readonly sessions: Sessions;
  readonly limiter: PublishLimiter;
  readonly metrics: FleetMetrics;
  readonly log: Logger;
  /** Benchmarks only: skip ACL and rate limits to measure what they cost. Never set in production. */
  readonly unprotected?: boolean;
  readonly now?: () => number;
  /**
   * The device plane's records elsewhere (a cluster node on PostgreSQL): the connect-time certificate check, and
   * where a device's online flag goes. Without it both use `registry` (the data folder's database).
   */
  readonly devicePlane?: DevicePlane;
  /** A device was admitted (cluster mode tells the other nodes, which close their older session of it). */
  readonly onAuthenticated?: (deviceId: string) => void;
}

export interface DevicePlane {
  checkCertificate(deviceId: string, serial: string, now: number): Promise<CertificateCheck>;
  setOnline(deviceId: string, online: boolean, address: string | null, at: number): void;
}

type AuthDone = (error: AuthenticateError | null, success: boolean | null) => void;

/** CONNACK, remaining length 2, no session, return code 0x01: unacceptable protocol level [MQTT-3.2.2-3]. */
const CONNACK_UNACCEPTABLE_PROTOCOL = Buffer.from([0x20, 0x02, 0x00, 0x01]);

/** The typed error code explaining why a topic is not a fleet topic (TOPIC_INVALID, DEVICE_ID_INVALID). */
function topicErrorCode(topic: string): string | undefined {
  try {
    parseTopic(topic);
    return undefined;
  } catch (err) {
    return (err as { code?: string }).code;
  }
}

export function createHooks(deps: HookDeps) {
  const now = deps.now ?? Date.now;
  const { metrics } = deps;
  /**
   * The will each CONNECT carried, kept from preConnect (which aedes hands the packet) for authenticate (which
   * only gets the client): the will is checked once the certificate and the registry have accepted the device.
   */
  const wills = new WeakMap<Client, NonNullable<ConnectPacket['will']>>();
  const setOnline = (deviceId: string, online: boolean, address: string | null, at: number) =>
    deps.devicePlane
      ? deps.devicePlane.setOnline(deviceId, online, address, at)
      : deps.writeBehind.run(() => deps.registry.setOnline(deviceId, online, address, at));

  /** Audits, logs and counts a refused CONNECT. */
  function recordConnectDenied(
    id: unknown,
    address: string | null,
    reason: string,
    extra: Record<string, unknown>,
    certificateCn: string | undefined,
  ): void {
    const clientId = typeof id === 'string' ? id.slice(0, 80) : null;
    deps.auditLimited.record({
      event: 'auth.denied',
      deviceId: certificateCn?.slice(0, 80) ?? clientId,
      address,
      detail: { reason, clientId, ...extra },
    });
    deps.log.warn('connection refused', { clientId, address, reason, ...extra });
    metrics.denials.inc({ kind: 'auth', reason });
  }

  /** Refuses a CONNECT. The audit names the certificate's identity (who really knocked) and the claimed client id. */
  function denyConnect(
    client: Client,
    address: string | null,
    reason: string,
    done: AuthDone,
    extra: Record<string, unknown> = {},
    certificateCn?: string,
  ) {
    recordConnectDenied(client.id, address, reason, extra, certificateCn);
    const err = new Error(`not authorized: ${reason}`) as AuthenticateError;
    (err as { returnCode: number }).returnCode = 5; // CONNACK 5: not authorized [MQTT-3.2.2-3]
    done(err, null);
  }

  function identityOf(client: Client | null): Identity | undefined {
    if (!client) return { kind: 'backend' };
    const s = deps.sessions.of(client);
    return s ? { kind: 'device', deviceId: s.deviceId } : undefined;
  }

  /** Audits, logs and counts an ACL denial. */
  function recordDenied(
    client: Client | null,
    who: Identity | undefined,
    detail: { action: 'publish' | 'subscribe'; reason: string } & Record<string, unknown>,
  ): void {
    const deviceId = who?.kind === 'device' ? who.deviceId : null;
    deps.auditLimited.record({
      event: 'acl.denied',
      deviceId,
      address: client ? (deps.sessions.of(client)?.address ?? null) : null,
      detail,
    });
    deps.log.warn(`${detail.action} denied`, { deviceId, ...detail });
    metrics.denials.inc({ kind: 'acl', reason: detail.reason });
  }

  function denyPublish(
    client: Client | null,
    who: Identity,
    topic: string,
    reason: string,
    done: (err?: Error | null) => void,
  ) {
    const code = reason === 'invalid-topic' ? topicErrorCode(topic) : undefined;
    recordDenied(client, who, { action: 'publish', topic: topic.slice(0, 200), reason, ...(code ? { code } : {}) });
    // MQTT 3.1.1 has no negative PUBACK: the connection is closed.
    done(new Error(`publish to ${topic} denied: ${reason}`));
  }

  /**
   * Hands an authorized device publish on `channel` to ingest, which stores it; `done` then sends the PUBACK. The
   * ACL lets a device publish only on the channels ingest stores: nothing is acknowledged and then dropped.
   */
  function accept(deviceId: string, channel: Channel, packet: PublishPacket, done: (err?: Error | null) => void): void {
    // The fleet keeps each device's status in its database; a retained copy in the broker would serve no one
    // (no device may read another's status) and makes every SUBSCRIBE scan all of them.
    if (packet.retain) packet.retain = false;
    metrics.messagesIn.inc({ channel });
    const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
    deps.ingest.submit(deviceId, channel, packet.topic, payload, done);
  }

  /** After the registry's check: refuses, or admits the device (session, connection log, online flag). */
  function admit(
    client: Client,
    peer: NonNullable<ReturnType<typeof peerIdentity>>,
    will: NonNullable<ConnectPacket['will']> | undefined,
    check: CertificateCheck,
    done: AuthDone,
  ): void {
    const clientId = peer.cn;
    // A connection that went away while the store answered gets no session: its close, which ends sessions, is past.
    if (client.closed)
      return done(Object.assign(new Error('closed while authenticating'), { returnCode: 3 as const }), null);
    if (!check.ok) return denyConnect(client, peer.address, check.reason, done, { serial: peer.serial });
    // The will is published on the device's behalf later: it must pass the same ACL now.
    if (will) {
      const d = authorizePublish({ kind: 'device', deviceId: clientId }, will.topic, will.retain === true);
      if (!d.allow || !will.topic.endsWith('/status'))
        return denyConnect(client, peer.address, 'will-not-allowed', done, { topic: will.topic.slice(0, 120) });
    }
    // Policy: the newer connection takes over (MQTT-3.1.4-2); two live sessions of one certificate may
    // mean a cloned credential, so it is recorded for the fleet audit.
    const previous = deps.sessions.get(clientId);
    if (previous) {
      deps.audit.record({
        event: 'session.takeover',
        deviceId: clientId,
        address: peer.address,
        detail: {
          previousAddress: previous.address,
          serial: peer.serial,
          sameCertificate: previous.serial === peer.serial,
        },
      });
      deps.log.warn('session taken over by a new connection (possible cloned credential)', {
        deviceId: clientId,
        address: peer.address,
        previousAddress: previous.address,
      });
      metrics.takeovers.inc();
    }
    const connectionId = deps.connections.opened(clientId, peer.serial, peer.address);
    deps.sessions.add({
      deviceId: clientId,
      serial: peer.serial,
      fingerprint: peer.fingerprint,
      address: peer.address,
      deviceType: check.deviceType,
      connectedAt: now(),
      client,
      connectionId,
    });
    const at = now();
    setOnline(clientId, true, peer.address, at);
    deps.log.info('device connected', { deviceId: clientId, address: peer.address });
    deps.onAuthenticated?.(clientId);
    done(null, true);
  }

  return {
    setOnline,
    /**
     * Only MQTT 3.1.1 (protocol level 4) is served. aedes also accepts MQTT 3.1 (level 3), which no edgeward client
     * speaks; it refuses MQTT 5 itself, but unaudited. Any other level is refused here, before authentication, with
     * CONNACK 0x01 (unacceptable protocol level), then disconnected [MQTT-3.1.2-2]. A refusal in preConnect makes
     * aedes close without a CONNACK, so the 4-byte CONNACK is written here first.
     */
    preConnect(client: Client, packet: ConnectPacket, done: (err: Error | null, ok: boolean) => void): void {
      if (packet.protocolVersion === 4) {
        if (packet.will) wills.set(client, packet.will);
        return done(null, true);
      }
      const peer = peerIdentity(client);
      recordConnectDenied(
        packet.clientId,
        peer?.address ?? null,
        'protocol-version',
        { protocolVersion: packet.protocolVersion ?? null },
        peer?.cn,
      );
      // Straight to the socket, and refused once it is flushed: aedes destroys the connection right after.
      const refuse = () => done(new Error(`unacceptable protocol level ${packet.protocolVersion}`), false);
      const socket = tlsSocketOf(client);
      if (socket) socket.write(CONNACK_UNACCEPTABLE_PROTOCOL, refuse);
      else refuse();
    },

    authenticate(client: Client, _username: string | undefined, _password: Buffer | undefined, done: AuthDone): void {
      const will = wills.get(client);
      wills.delete(client);
      const peer = peerIdentity(client);
      if (!peer) return denyConnect(client, null, 'no-client-certificate', done);
      const clientId = client.id;
      if (clientId !== peer.cn) return denyConnect(client, peer.address, 'clientid-mismatch', done, {}, peer.cn);
      if (!isValidDeviceId(clientId)) return denyConnect(client, peer.address, 'invalid-device-id', done);
      if (!deps.devicePlane)
        return admit(client, peer, will, deps.registry.checkCertificate(clientId, peer.serial, now()), done);
      deps.devicePlane.checkCertificate(clientId, peer.serial, now()).then(
        (check) => admit(client, peer, will, check, done),
        (err: Error) => {
          // The store cannot answer: refused (the device retries), never admitted unchecked.
          deps.log.error('certificate check failed', { deviceId: clientId, error: err });
          denyConnect(client, peer.address, 'store-unavailable', done, {
            code: (err as { code?: string }).code ?? 'INTERNAL',
          });
        },
      );
    },
    authorizePublish(client: Client | null, packet: PublishPacket, done: (err?: Error | null) => void): void {
      const who = identityOf(client);
      if (!who) return done(new Error('publish from an unauthenticated client'));
      if (deps.unprotected && who.kind === 'device') {
        // Benchmarks without the ACL still hand ingest only the channels it stores.
        const channel = tryParseTopic(packet.topic)?.channel;
        if (channel === undefined || !isDevicePublishChannel(channel))
          return done(new Error(`publish to ${packet.topic} is not handled`));
        return accept(who.deviceId, channel, packet, done);
      }
      const decision = authorizePublish(who, packet.topic, packet.retain === true);
      if (!decision.allow) return denyPublish(client, who, packet.topic, decision.reason, done);
      if (who.kind !== 'device') return done(null);
      const { channel } = decision;

      const session = deps.sessions.of(client!)!;
      const size = packet.payload?.length ?? 0;
      const admission = deps.limiter.admit(
        who.deviceId,
        rateFor(deps.config, session.deviceType),
        size + packet.topic.length,
      );
      const release = (err?: Error | null) => {
        deps.limiter.release(who.deviceId);
        done(err);
      };
      switch (admission.action) {
        case 'pass':
          return accept(who.deviceId, channel, packet, release);
        case 'delay':
          metrics.throttles.inc();
          if (deps.limiter.markThrottled(who.deviceId)) {
            deps.auditLimited.record({
              event: 'rate.throttled',
              deviceId: who.deviceId,
              address: session.address,
              detail: { delayMs: admission.ms },
            });
            deps.log.warn('device throttled', { deviceId: who.deviceId, delayMs: admission.ms });
          }
          setTimeout(
            () => (client!.closed ? release(new Error('closed')) : accept(who.deviceId, channel, packet, release)),
            admission.ms,
          ).unref();
          return;
        case 'disconnect': {
          deps.limiter.release(who.deviceId);
          deps.audit.record({
            event: 'rate.disconnected',
            deviceId: who.deviceId,
            address: session.address,
            detail: { reason: admission.reason },
          });
          deps.log.warn('device disconnected for flooding', { deviceId: who.deviceId, reason: admission.reason });
          metrics.disconnects.inc({ reason: `rate-${admission.reason}` });
          return done(new Error(`rate limit: ${admission.reason}`));
        }
      }
    },

    authorizeSubscribe(
      client: Client,
      sub: Subscription,
      done: (err: Error | null, sub?: Subscription | null) => void,
    ): void {
      const who = identityOf(client);
      if (deps.unprotected && who) return done(null, sub);
      const decision = who ? authorizeSubscribe(who, sub.topic) : ({ allow: false, reason: 'invalid-topic' } as const);
      if (decision.allow) return done(null, sub);
      recordDenied(client, who, { action: 'subscribe', topic: sub.topic.slice(0, 200), reason: decision.reason });
      done(null, null); // SUBACK 0x80 for this filter only
    },

    /**
     * A client error aedes raised: when it is aedes refusing a topic before authorizePublish/authorizeSubscribe
     * ran (a PUBLISH to a wildcard topic…), it is recorded as the ACL denial it is. True when it was one.
     */
    clientError(client: Client, err: Error): boolean {
      const refusal = brokerRefusal(err);
      if (!refusal) return false;
      // aedes does not report the topic: its own message says what was wrong with it.
      recordDenied(client, identityOf(client), { ...refusal, error: err.message });
      return true;
    },

    /** Defence in depth: never deliver outside the receiving device's own subtree. */
    authorizeForward(client: Client, packet: PublishPacket): PublishPacket | null {
      const s = deps.sessions.of(client);
      if (!s || !packet.topic.startsWith(`fleet/v1/${s.deviceId}/`)) return null;
      metrics.messagesOut.inc();
      return packet;
    },
  };
}
