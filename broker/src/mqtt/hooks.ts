// The aedes policy hooks: authenticate by certificate, authorize by the ACL, hand device messages to ingest.
import type { AuthenticateError, Client, PublishPacket, Subscription } from 'aedes';
import { isValidDeviceId, parseTopic, type Channel, type Logger } from '../../../shared/src/index.js';
import type { AuditLog } from '../db/audit.js';
import type { Registry } from '../db/registry.js';
import type { Ingest } from '../fleet/ingest.js';
import { authorizePublish, authorizeSubscribe, type Identity } from './acl.js';
import { peerIdentity } from './peer-certificate.js';
import type { Sessions } from './sessions.js';

/** Channels whose payloads the backend validates and stores before acknowledging. */
const INGESTED: ReadonlySet<Channel> = new Set<Channel>(['telemetry', 'status']);

export interface HookDeps {
  readonly registry: Registry;
  readonly audit: AuditLog;
  readonly ingest: Ingest;
  readonly sessions: Sessions;
  readonly log: Logger;
  readonly now?: () => number;
  /** Counts security events for /metrics. */
  readonly count?: (event: string, reason: string) => void;
}

/** The typed error code explaining why a topic is not a fleet topic (TOPIC_INVALID, DEVICE_ID_INVALID). */
function topicErrorCode(topic: string): string | undefined {
  try {
    parseTopic(topic);
    return undefined;
  } catch (err) {
    return (err as { code?: string }).code;
  }
}

type AuthDone = (error: AuthenticateError | null, success: boolean | null) => void;

export function createHooks(deps: HookDeps) {
  const now = deps.now ?? Date.now;
  const count = deps.count ?? (() => {});

  function denyConnect(client: Client, address: string | null, reason: string, done: AuthDone, extra: Record<string, unknown> = {}) {
    const clientId = typeof client.id === 'string' ? client.id.slice(0, 80) : null;
    deps.audit.record({ event: 'auth.denied', deviceId: clientId, address, detail: { reason, ...extra } });
    deps.log.warn('connection refused', { clientId, address, reason, ...extra });
    count('auth.denied', reason);
    const err = new Error(`not authorized: ${reason}`) as AuthenticateError;
    (err as { returnCode: number }).returnCode = 5; // CONNACK 5: not authorized [MQTT-3.2.2-3]
    done(err, null);
  }

  function identityOf(client: Client | null): Identity | undefined {
    if (!client) return { kind: 'backend' };
    const s = deps.sessions.of(client);
    return s ? { kind: 'device', deviceId: s.deviceId } : undefined;
  }

  return {
    authenticate(client: Client, _username: string | undefined, _password: Buffer | undefined, done: AuthDone): void {
      const peer = peerIdentity(client);
      if (!peer) return denyConnect(client, null, 'no-client-certificate', done);
      const clientId = client.id;
      if (clientId !== peer.cn) return denyConnect(client, peer.address, 'clientid-mismatch', done, { certificateCn: peer.cn.slice(0, 80) });
      if (!isValidDeviceId(clientId)) return denyConnect(client, peer.address, 'invalid-device-id', done);
      const check = deps.registry.checkCertificate(clientId, peer.serial, now());
      if (!check.ok) return denyConnect(client, peer.address, check.reason, done, { serial: peer.serial });
      // The will is published on the device's behalf later: it must pass the same ACL now.
      const will = (client as Client & { _will?: { topic: string; retain?: boolean } | null })._will;
      if (will) {
        const d = authorizePublish({ kind: 'device', deviceId: clientId }, will.topic, will.retain === true);
        if (!d.allow || !will.topic.endsWith('/status')) return denyConnect(client, peer.address, 'will-not-allowed', done, { topic: will.topic.slice(0, 120) });
      }
      deps.sessions.add({ deviceId: clientId, serial: peer.serial, fingerprint: peer.fingerprint, address: peer.address, deviceType: check.deviceType, connectedAt: now(), client });
      deps.registry.setOnline(clientId, true, peer.address, now());
      deps.log.info('device connected', { deviceId: clientId, address: peer.address });
      done(null, true);
    },

    authorizePublish(client: Client | null, packet: PublishPacket, done: (err?: Error | null) => void): void {
      const who = identityOf(client);
      if (!who) return done(new Error('publish from an unauthenticated client'));
      const decision = authorizePublish(who, packet.topic, packet.retain === true);
      if (!decision.allow) {
        const deviceId = who.kind === 'device' ? who.deviceId : null;
        const code = decision.reason === 'invalid-topic' ? topicErrorCode(packet.topic) : undefined;
        const detail = { action: 'publish', topic: packet.topic.slice(0, 200), reason: decision.reason, ...(code ? { code } : {}) };
        deps.audit.record({ event: 'acl.denied', deviceId, address: client ? deps.sessions.of(client)?.address ?? null : null, detail });
        deps.log.warn('publish denied', { deviceId, ...detail });
        count('acl.denied', decision.reason);
        // MQTT 3.1.1 has no negative PUBACK: the connection is closed.
        return done(new Error(`publish to ${packet.topic} denied: ${decision.reason}`));
      }
      if (who.kind !== 'device') return done(null);
      const { channel } = parseTopic(packet.topic);
      if (!INGESTED.has(channel)) return done(null);
      const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
      deps.ingest.submit(who.deviceId, channel, packet.topic, payload, done);
    },

    authorizeSubscribe(client: Client, sub: Subscription, done: (err: Error | null, sub?: Subscription | null) => void): void {
      const who = identityOf(client);
      const decision = who ? authorizeSubscribe(who, sub.topic) : ({ allow: false, reason: 'invalid-topic' } as const);
      if (decision.allow) return done(null, sub);
      const deviceId = who?.kind === 'device' ? who.deviceId : null;
      deps.audit.record({ event: 'acl.denied', deviceId, address: deps.sessions.of(client)?.address ?? null, detail: { action: 'subscribe', topic: sub.topic.slice(0, 200), reason: decision.reason } });
      deps.log.warn('subscribe denied', { deviceId, topic: sub.topic.slice(0, 200), reason: decision.reason });
      count('acl.denied', decision.reason);
      done(null, null); // SUBACK 0x80 for this filter only
    },

    /** Defence in depth: never deliver outside the receiving device's own subtree. */
    authorizeForward(client: Client, packet: PublishPacket): PublishPacket | null {
      const s = deps.sessions.of(client);
      if (!s) return null;
      return packet.topic.startsWith(`fleet/v1/${s.deviceId}/`) ? packet : null;
    },
  };
}
