// Wire messages: one schema per channel and one decoder that dispatches by channel.
import { encode } from '../cbor.js';
import { ProtocolError } from '../errors.js';
import type { Channel } from '../topics.js';
import { decodeWith } from './common.js';
import { statusSchema, type StatusMessage } from './status.js';
import { decodeTelemetryFast, telemetrySchema, type TelemetryMessage } from './telemetry.js';
import { decodeCmdAck, type CmdAck } from '../commands/ack.js';
import { decodeExposure, MAX_EXPOSURE_BYTES, type ExposureReport } from './exposure.js';

export { SCHEMA_VERSION, MESSAGE_ID_PATTERN, decodeWith } from './common.js';
export * from './telemetry.js';
export * from './status.js';
export * from './exposure.js';

/** Largest payload accepted per channel, in bytes. */
export const MAX_PAYLOAD: Readonly<Record<string, number>> = Object.freeze({
  telemetry: 64 * 1024,
  status: 4 * 1024,
  exposure: MAX_EXPOSURE_BYTES,
});

export type DecodedMessage =
  | { readonly kind: 'telemetry'; readonly message: TelemetryMessage }
  | { readonly kind: 'status'; readonly message: StatusMessage }
  | { readonly kind: 'cmd/ack'; readonly message: CmdAck }
  | { readonly kind: 'exposure'; readonly message: ExposureReport };

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
    default:
      throw new ProtocolError('PROTO_UNKNOWN_KIND', `no decoder for channel ${channel}`);
  }
}

export function encodeMessage(message: TelemetryMessage | StatusMessage): Buffer {
  return encode(message);
}
