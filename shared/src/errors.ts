// Typed errors shared by every part: one base class, stable string codes, and a registry the docs test reads.

/** A code registry: each code maps to the one-line meaning listed in docs/errors.md. */
export type CodeRegistry<K extends string = string> = Readonly<Record<K, string>>;

export function defineCodes<const T extends Record<string, string>>(codes: T): Readonly<T> {
  return Object.freeze(codes);
}

/** Base of every error edgeward raises on purpose. `code` is stable; `message` tells the user what to do. */
export class EdgewardError extends Error {
  readonly code: string;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: string, message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.details = options.details === undefined ? undefined : Object.freeze({ ...options.details });
  }

  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      ...(this.details ? { details: this.details } : {}),
    };
  }
}

export const protocolCodes = defineCodes({
  PROTO_BAD_CBOR:
    'The payload is not well-formed CBOR (truncated, trailing bytes, indefinite length or reserved values).',
  PROTO_TOO_LARGE: 'The payload is larger than the decoder allows.',
  PROTO_TOO_DEEP: 'The payload nests arrays or maps deeper than the decoder allows.',
  PROTO_TOO_MANY_ITEMS: 'The payload holds more data items than the decoder allows.',
  PROTO_UNEXPECTED_TAG: 'The payload uses a CBOR tag this message kind does not allow.',
  PROTO_BAD_KEY: 'A map key is not a text string, is repeated, or is a reserved name such as __proto__.',
  PROTO_SCHEMA_VERSION: 'The message declares a schema version this build does not speak.',
  PROTO_INVALID_MESSAGE: 'The message decoded but does not match its schema; details list every problem.',
  PROTO_UNKNOWN_KIND: 'The message kind (topic channel) is not one this receiver handles.',
  TOPIC_INVALID: 'The MQTT topic is not of the form fleet/v1/{deviceId}/{channel}.',
  DEVICE_ID_INVALID: 'The device id does not match ^[a-z0-9][a-z0-9-]{2,63}$.',
});
export type ProtocolCode = keyof typeof protocolCodes;

/** An input from the network or a file was refused by a decoder or a schema. */
export class ProtocolError extends EdgewardError {
  declare readonly code: ProtocolCode;
  constructor(
    code: ProtocolCode,
    message: string,
    options: { cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(code, message, options);
  }
}
