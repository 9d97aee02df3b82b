// cmd/ack: the device's answer to every command it received (device → backend, QoS 1, through its outbox).
import { encode } from '../cbor.js';
import { ProtocolError } from '../errors.js';
import { decodeWith, messageId, timestamp } from '../messages/common.js';
import { literal, nullable, object, oneOf, optional, str, type Infer } from '../schema.js';

export const MAX_CMD_ACK_BYTES = 2 * 1024;

/** accepted: all checks passed, about to run · done / failed: it ran · rejected: refused, never ran. */
export const CMD_ACK_STATUSES = ['accepted', 'rejected', 'done', 'failed'] as const;
export type CmdAckStatus = (typeof CMD_ACK_STATUSES)[number];

/** Why a command was refused (status rejected) or failed (status failed); docs/commands.md explains each. */
export const CMD_ACK_REASONS = [
  'unsigned',
  'bad-signature',
  'unknown-key',
  'not-allowed',
  'wrong-device',
  'expired',
  'replay',
  'out-of-range',
  'unknown-command',
  'unsupported',
  'malformed',
  'execution-failed',
] as const;
export type CmdAckReason = (typeof CMD_ACK_REASONS)[number];

export const cmdAckSchema = object({
  v: literal(1),
  id: messageId(),
  ts: timestamp(),
  /** The command body's id, or null when it could not be read. For a rejected command it is not authenticated. */
  cmdId: nullable(messageId()),
  status: oneOf(CMD_ACK_STATUSES),
  reason: optional(oneOf(CMD_ACK_REASONS)),
  detail: optional(str({ maxLength: 300 })),
});

export type CmdAck = Infer<typeof cmdAckSchema>;

/** rejected and failed carry a reason; accepted and done never do. */
function checkReason(ack: CmdAck): void {
  const needs = ack.status === 'rejected' || ack.status === 'failed';
  if (needs !== (ack.reason !== undefined)) {
    throw new ProtocolError(
      'PROTO_INVALID_MESSAGE',
      `invalid cmd/ack message: status ${ack.status} ${needs ? 'needs' : 'must not have'} a reason`,
    );
  }
}

/** Decodes and validates a cmd/ack payload; throws ProtocolError. */
export function decodeCmdAck(bytes: Uint8Array): CmdAck {
  const ack = decodeWith('cmd/ack', cmdAckSchema, bytes, { maxBytes: MAX_CMD_ACK_BYTES, maxDepth: 2, maxItems: 32 });
  checkReason(ack);
  return ack;
}

export function encodeCmdAck(ack: CmdAck): Buffer {
  checkReason(ack);
  return encode(ack);
}
