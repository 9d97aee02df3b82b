// Who may publish or subscribe where. All topic rules of the fleet live in this one module.
import {
  CHANNELS,
  type Channel,
  type Decision,
  DEVICE_SUBSCRIBE_CHANNELS,
  isDevicePublishChannel,
  TOPIC_ROOT,
  tryParseTopic,
} from '../../../shared/src/index.js';

/** A device (authenticated by its certificate) or the fleet backend itself (in-process, or an operator service). */
export type Identity = { readonly kind: 'device'; readonly deviceId: string } | { readonly kind: 'backend' };

/** What the ACL decides about one subscription. */
export type AclDecision = Decision<DenyReason>;
/** What the ACL decides about one publish: allowed, on this channel (the topic is parsed once, here). */
export type PublishDecision = Decision<DenyReason, { channel: Channel }>;

export type DenyReason =
  | 'sys-topic'
  | 'wildcard'
  | 'foreign-topic'
  | 'channel-not-allowed'
  | 'retain-not-allowed'
  | 'invalid-topic';

const ALLOW: AclDecision = Object.freeze({ allow: true });
/** A refusal, which both verdicts share. */
const deny = (reason: DenyReason) => ({ allow: false as const, reason });

/** One frozen verdict per channel: an allowed publish allocates nothing. */
const allowOn = new Map(CHANNELS.map((channel) => [channel, Object.freeze({ allow: true as const, channel })]));
const deviceSubscribe: ReadonlySet<string> = new Set(DEVICE_SUBSCRIBE_CHANNELS);
/** Channels the backend sends to devices. */
const backendPublish: ReadonlySet<string> = new Set(DEVICE_SUBSCRIBE_CHANNELS);

const isSys = (topic: string) => topic.startsWith('$');
const hasWildcard = (topic: string) => topic.includes('+') || topic.includes('#');

export function authorizePublish(who: Identity, topic: string, retain: boolean): PublishDecision {
  // [MQTT-4.7.2-1] $-topics are the server's; nobody publishes there from outside.
  if (isSys(topic)) return deny('sys-topic');
  if (hasWildcard(topic)) return deny('wildcard'); // [MQTT-3.3.2-2]
  const parsed = tryParseTopic(topic);
  if (!parsed) return deny('invalid-topic');
  if (who.kind === 'backend') {
    if (!backendPublish.has(parsed.channel)) return deny('channel-not-allowed');
    return retain ? deny('retain-not-allowed') : allowOn.get(parsed.channel)!;
  }
  if (parsed.deviceId !== who.deviceId) return deny('foreign-topic');
  if (!isDevicePublishChannel(parsed.channel)) return deny('channel-not-allowed');
  // Only the device's own status is retained (so a late subscriber sees online/offline at once).
  if (retain && parsed.channel !== 'status') return deny('retain-not-allowed');
  return allowOn.get(parsed.channel)!;
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
