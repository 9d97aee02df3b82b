// Wire messages: one schema per channel and one decoder that dispatches by channel.
import { encode } from '../cbor.js';
import { ProtocolError } from '../errors.js';
import type { Channel } from '../topics.js';
import { decodeWith } from './common.js';
import { statusSchema, type StatusMessage } from './status.js';
import { decodeTelemetryFast, telemetrySchema, type TelemetryMessage } from './telemetry.js';
import { decodeCmdAck, type CmdAck } from '../commands/ack.js';
import { decodeExposure, MAX_EXPOSURE_BYTES, type ExposureReport } from './exposure.js';
import { MAX_UPDATE_OFFER_BYTES, MAX_UPDATE_STATUS_BYTES, updateOfferSchema, updateStatusSchema } from './update.js';
import type { UpdateOffer, UpdateStatus } from './update.js';

export { SCHEMA_VERSION, MESSAGE_ID_PATTERN, decodeWith } from './common.js';
export * from './telemetry.js';
export * from './status.js';
export * from './exposure.js';
export * from './update.js';

/** Largest payload accepted per channel, in bytes. */
export const MAX_PAYLOAD: Readonly<Record<string, number>> = Object.freeze({
  telemetry: 64 * 1024,
  status: 4 * 1024,
  exposure: MAX_EXPOSURE_BYTES,
  'update/status': MAX_UPDATE_STATUS_BYTES,
});

export type DecodedMessage =
  | { readonly kind: 'telemetry'; readonly message: TelemetryMessage }
  | { readonly kind: 'status'; readonly message: StatusMessage }
  | { readonly kind: 'cmd/ack'; readonly message: CmdAck }
  | { readonly kind: 'exposure'; readonly message: ExposureReport }
  | { readonly kind: 'update/status'; readonly message: UpdateStatus };

/** Decodes and validates a device → backend payload; the default branch refuses unknown kinds. */
export function decodeDeviceMessage(channel: Channel, bytes: Uint8Array): DecodedMessage {
  switch (channel) {
    case 'telemetry': {
      // The one-pass decoder takes the usual shape; anything else (or too large) goes the general way.
      const fast = bytes.length <= MAX_PAYLOAD.telemetry! ? decodeTelemetryFast(bytes) : undefined;
      return {
        kind: 'telemetry',
        message: fast ?? decodeWith('telemetry', telemetrySchema, bytes, { maxBytes: MAX_PAYLOAD.telemetry! }),
      };
    }
    case 'status':
      return { kind: 'status', message: decodeWith('status', statusSchema, bytes, { maxBytes: MAX_PAYLOAD.status! }) };
    case 'cmd/ack':
      return { kind: 'cmd/ack', message: decodeCmdAck(bytes) };
    case 'exposure':
      return { kind: 'exposure', message: decodeExposure(bytes) };
    case 'update/status':
      return {
        kind: 'update/status',
        message: decodeWith('update status', updateStatusSchema, bytes, { maxBytes: MAX_UPDATE_STATUS_BYTES }),
      };
    default:
      throw new ProtocolError('PROTO_UNKNOWN_KIND', `no decoder for channel ${channel}`);
  }
}

export function encodeMessage(message: TelemetryMessage | StatusMessage): Buffer {
  return encode(message);
}

/** Decodes an update offer (backend → device) as the agent receives it. */
export function decodeUpdateOffer(bytes: Uint8Array): UpdateOffer {
  return decodeWith('update offer', updateOfferSchema, bytes, { maxBytes: MAX_UPDATE_OFFER_BYTES });
}
