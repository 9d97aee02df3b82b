// Who may publish or subscribe where. All topic rules of the fleet live in this one module.
import {
  type Decision,
  DEVICE_PUBLISH_CHANNELS,
  DEVICE_SUBSCRIBE_CHANNELS,
  TOPIC_ROOT,
  tryParseTopic,
} from '../../../shared/src/index.js';

/** A device (authenticated by its certificate) or the fleet backend itself (in-process, or an operator service). */
export type Identity = { readonly kind: 'device'; readonly deviceId: string } | { readonly kind: 'backend' };

/** What the ACL decides about one publish or subscription. */
export type AclDecision = Decision<DenyReason>;

export type DenyReason =
  | 'sys-topic'
  | 'wildcard'
  | 'foreign-topic'
  | 'channel-not-allowed'
  | 'retain-not-allowed'
  | 'invalid-topic';

const ALLOW: AclDecision = Object.freeze({ allow: true });
const deny = (reason: DenyReason): AclDecision => ({ allow: false, reason });

const devicePublish: ReadonlySet<string> = new Set(DEVICE_PUBLISH_CHANNELS);
const deviceSubscribe: ReadonlySet<string> = new Set(DEVICE_SUBSCRIBE_CHANNELS);
/** Channels the backend sends to devices. */
const backendPublish: ReadonlySet<string> = new Set(DEVICE_SUBSCRIBE_CHANNELS);

const isSys = (topic: string) => topic.startsWith('$');
const hasWildcard = (topic: string) => topic.includes('+') || topic.includes('#');

export function authorizePublish(who: Identity, topic: string, retain: boolean): AclDecision {
  // [MQTT-4.7.2-1] $-topics are the server's; nobody publishes there from outside.
  if (isSys(topic)) return deny('sys-topic');
  if (hasWildcard(topic)) return deny('wildcard'); // [MQTT-3.3.2-2]
  const parsed = tryParseTopic(topic);
  if (!parsed) return deny('invalid-topic');
  if (who.kind === 'backend') {
    if (!backendPublish.has(parsed.channel)) return deny('channel-not-allowed');
    return retain ? deny('retain-not-allowed') : ALLOW;
  }
  if (parsed.deviceId !== who.deviceId) return deny('foreign-topic');
  if (!devicePublish.has(parsed.channel)) return deny('channel-not-allowed');
  // Only the device's own status is retained (so a late subscriber sees online/offline at once).
  if (retain && parsed.channel !== 'status') return deny('retain-not-allowed');
  return ALLOW;
}

export function authorizeSubscribe(who: Identity, filter: string): AclDecision {
  if (isSys(filter)) return deny('sys-topic');
  if (who.kind === 'backend') {
    // The backend may watch the whole fleet tree, wildcards included, and nothing else.
    return filter === `${TOPIC_ROOT}/#` || filter.startsWith(`${TOPIC_ROOT}/`) ? ALLOW : deny('invalid-topic');
  }
  // A device gets exactly its own command and update topics: no wildcard can widen that.
  if (hasWildcard(filter)) return deny('wildcard');
  const parsed = tryParseTopic(filter);
  if (!parsed) return deny('invalid-topic');
  if (parsed.deviceId !== who.deviceId) return deny('foreign-topic');
  return deviceSubscribe.has(parsed.channel) ? ALLOW : deny('channel-not-allowed');
}
