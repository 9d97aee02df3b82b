// status: retained online/offline state of a device, also its MQTT will (device → backend, QoS 1).
import { literal, object, oneOf, optional, str, type Infer } from '../schema.js';
import { messageId, timestamp } from './common.js';

const version = () => str({ maxLength: 64, pattern: /^[0-9A-Za-z.+_-]{1,64}$/ });

export const statusSchema = object({
  v: literal(1),
  id: messageId(),
  ts: timestamp(),
  state: oneOf(['online', 'offline'] as const),
  agentVersion: version(),
  firmwareVersion: optional(version()),
  /** The hardware id firmware bundles must name (rollout selectors pick devices by it). */
  hardware: optional(str({ maxLength: 64, pattern: /^[0-9A-Za-z._-]{1,64}$/ })),
});

export type StatusMessage = Infer<typeof statusSchema>;
