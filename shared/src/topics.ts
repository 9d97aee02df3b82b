// MQTT topic builders and parsers: every device topic is fleet/v1/{deviceId}/{channel}.
import { ProtocolError } from './errors.js';

export const TOPIC_ROOT = 'fleet/v1';
export const DEVICE_ID_PATTERN = /^[a-z0-9][a-z0-9-]{2,63}$/;

/** Channels a device publishes on (device → backend): the fleet server validates and stores each of them. */
export const DEVICE_PUBLISH_CHANNELS = ['telemetry', 'exposure', 'status', 'cmd/ack', 'update/status'] as const;
/** Channels a device subscribes to (backend → device). */
export const DEVICE_SUBSCRIBE_CHANNELS = ['cmd', 'update'] as const;
export const CHANNELS = [...DEVICE_PUBLISH_CHANNELS, ...DEVICE_SUBSCRIBE_CHANNELS] as const;

export type DevicePublishChannel = (typeof DEVICE_PUBLISH_CHANNELS)[number];
export type DeviceSubscribeChannel = (typeof DEVICE_SUBSCRIBE_CHANNELS)[number];
export type Channel = (typeof CHANNELS)[number];

const channelSet: ReadonlySet<string> = new Set(CHANNELS);
const devicePublishSet: ReadonlySet<string> = new Set(DEVICE_PUBLISH_CHANNELS);

export function isValidDeviceId(id: unknown): id is string {
  return typeof id === 'string' && DEVICE_ID_PATTERN.test(id);
}

export function assertDeviceId(id: unknown): string {
  if (!isValidDeviceId(id)) {
    throw new ProtocolError(
      'DEVICE_ID_INVALID',
      `invalid device id ${JSON.stringify(String(id).slice(0, 80))}: use 3-64 characters of a-z, 0-9 and '-', ` +
        `starting with a letter or digit`,
    );
  }
  return id;
}

export function isChannel(value: string): value is Channel {
  return channelSet.has(value);
}

export function isDevicePublishChannel(value: string): value is DevicePublishChannel {
  return devicePublishSet.has(value);
}

/** fleet/v1/{deviceId}/{channel}; throws on an invalid id. */
export function deviceTopic(deviceId: string, channel: Channel): string {
  return `${TOPIC_ROOT}/${assertDeviceId(deviceId)}/${channel}`;
}

export interface ParsedTopic {
  readonly deviceId: string;
  readonly channel: Channel;
}

/** Parses a concrete (wildcard-free) device topic; throws ProtocolError on anything else. */
export function parseTopic(topic: string): ParsedTopic {
  if (typeof topic !== 'string' || !topic.startsWith(`${TOPIC_ROOT}/`)) {
    throw new ProtocolError(
      'TOPIC_INVALID',
      `topic ${JSON.stringify(String(topic).slice(0, 120))} is not under ${TOPIC_ROOT}/`,
    );
  }
  const rest = topic.slice(TOPIC_ROOT.length + 1);
  const slash = rest.indexOf('/');
  if (slash < 0)
    throw new ProtocolError('TOPIC_INVALID', `topic ${JSON.stringify(topic.slice(0, 120))} has no channel`);
  const deviceId = assertDeviceId(rest.slice(0, slash));
  const channel = rest.slice(slash + 1);
  if (!isChannel(channel)) {
    throw new ProtocolError(
      'TOPIC_INVALID',
      `unknown channel ${JSON.stringify(channel.slice(0, 40))}; expected one of ${CHANNELS.join(', ')}`,
    );
  }
  return { deviceId, channel };
}

/** Like parseTopic but returns undefined instead of throwing (for hot paths that only route). */
export function tryParseTopic(topic: string): ParsedTopic | undefined {
  try {
    return parseTopic(topic);
  } catch {
    return undefined;
  }
}
