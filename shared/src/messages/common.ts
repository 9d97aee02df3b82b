// Fields every message carries, and the decode-then-validate step they all share.
import { decode, type DecodeLimits } from '../cbor.js';
import { ProtocolError } from '../errors.js';
import { formatIssues, int, isPlainObject, str, validate, type Schema } from '../schema.js';

export const SCHEMA_VERSION = 1;

export const MESSAGE_ID_PATTERN = /^[A-Za-z0-9_-]{8,64}$/;
export const messageId = () => str({ pattern: MESSAGE_ID_PATTERN, maxLength: 64 });
/** Milliseconds since the Unix epoch, as the device's clock saw it; recorded, never trusted. */
export const timestamp = () => int({ min: 0, max: 8_640_000_000_000_000 });

/** Decodes CBOR under `limits`, checks the schema version, then the schema; throws ProtocolError. */
export function decodeWith<T>(kind: string, schema: Schema<T>, bytes: Uint8Array, limits: Partial<DecodeLimits>): T {
  const raw = decode(bytes, limits);
  if (isPlainObject(raw) && raw.v !== SCHEMA_VERSION) {
    throw new ProtocolError(
      'PROTO_SCHEMA_VERSION',
      `${kind} message has schema version ${JSON.stringify(raw.v)?.slice(0, 20)}; this build speaks ${SCHEMA_VERSION}`,
      {
        details: { version: raw.v === undefined ? null : raw.v },
      },
    );
  }
  const result = validate(schema, raw);
  if (!result.ok) {
    throw new ProtocolError('PROTO_INVALID_MESSAGE', `invalid ${kind} message: ${formatIssues(result.issues)}`, {
      details: { issues: result.issues },
    });
  }
  return result.value;
}
