// The events cluster nodes tell each other over Redis pub/sub, and their validation on receipt: a message on the
// bus is hostile input (anyone who can reach Redis can publish), so it is size-capped, parsed and checked first.
import { DEVICE_ID_PATTERN, schema as s } from '../../../shared/src/index.js';

/** A node id: what `fleet serve --node-id` accepts, and the `node` label of its metrics. */
export const NODE_ID_PATTERN = /^[a-z0-9-]{1,32}$/;
/** Far above any event (a device id and a few certificate serials); a longer message is refused unread. */
export const MAX_BUS_MESSAGE_BYTES = 4096;

const node = s.str({ pattern: NODE_ID_PATTERN, maxLength: 32 });
const deviceId = s.str({ pattern: DEVICE_ID_PATTERN, maxLength: 64 });
const serial = s.str({ pattern: /^[0-9A-Za-z:]{1,80}$/, maxLength: 80 });

const events = {
  /** A device was revoked: every node drops its sessions. */
  'device.revoked': s.object({ kind: s.literal('device.revoked'), node, deviceId }),
  /** Certificates were revoked (a renewal with --revoke-old): sessions using them are dropped. */
  'certificate.revoked': s.object({
    kind: s.literal('certificate.revoked'),
    node,
    serials: s.array(serial, { minItems: 1, maxItems: 32 }),
  }),
  /** An operator was revoked: its tokens and dashboard sessions end on every node. */
  'operator.revoked': s.object({
    kind: s.literal('operator.revoked'),
    node,
    name: s.str({ minLength: 1, maxLength: 100 }),
  }),
  /** A device authenticated on `node`: every other node closes its older session of that device. */
  'session.takeover': s.object({ kind: s.literal('session.takeover'), node, deviceId }),
  /** A command for the device was queued in the shared store: the node holding its session sends it at once. */
  'command.queued': s.object({ kind: s.literal('command.queued'), node, deviceId }),
};
const busEvent = s.tagged('kind', events);

export type BusEvent = s.Infer<typeof busEvent>;
export type BusEventKind = BusEvent['kind'];
/** An event as a node sends it: the bus adds its own node id. */
export type OutgoingBusEvent = BusEvent extends infer E ? (E extends BusEvent ? Omit<E, 'node'> : never) : never;

export type ParsedBusMessage =
  | { ok: true; event: BusEvent }
  | { ok: false; reason: 'too-large' | 'not-json' | 'unknown-kind' | 'invalid' };

export function parseBusMessage(message: Buffer): ParsedBusMessage {
  if (message.length > MAX_BUS_MESSAGE_BYTES) return { ok: false, reason: 'too-large' };
  let raw: unknown;
  try {
    raw = JSON.parse(message.toString('utf8'));
  } catch {
    return { ok: false, reason: 'not-json' };
  }
  const kind = s.isPlainObject(raw) ? raw.kind : undefined;
  if (typeof kind !== 'string' || !Object.hasOwn(events, kind)) return { ok: false, reason: 'unknown-kind' };
  const r = s.validate(busEvent, raw);
  return r.ok ? { ok: true, event: r.value } : { ok: false, reason: 'invalid' };
}
