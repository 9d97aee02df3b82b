// What the server checks before it queues a signed command an operator submits, in a fixed order, as pure,
// non-throwing checks (the model: agent/src/commands/authorize.ts). The signature is verified before the body is
// believed; the device checks everything again before it runs the command, so this guards the queue, not the
// device: a stolen token alone cannot queue a command, and a mistake is refused where the operator sees it.
import {
  type CommandBody,
  decodeCommandBody,
  MAX_COMMAND_LIFETIME_MS,
  openEnvelope,
  validateCommandParams,
  verifyCommandSignature,
} from '../../../shared/src/commands/index.js';
import { schema } from '../../../shared/src/index.js';

/** How far ahead of the server's clock a command may be issued (the operator's clock may run fast). */
export const MAX_ISSUE_SKEW_MS = 5 * 60_000;

export type SubmitRefusal =
  | 'malformed'
  | 'unsigned'
  | 'bad-signature'
  | 'wrong-key'
  | 'wrong-device'
  | 'unknown-command'
  | 'invalid-params'
  | 'expired'
  | 'bad-lifetime'
  | 'counter-not-reserved'
  | 'counter-reused';

export interface SubmitInput {
  /** The device the command is submitted for (the path's). */
  readonly deviceId: string;
  readonly envelope: Uint8Array;
  /**
   * The key the command must be signed with: the submitting operator's registered key. null on the server host
   * (--data), which may sign with any operator key the devices trust; the devices check that signature.
   */
  readonly signer: { readonly kid: string; readonly publicKey: Uint8Array } | null;
  /** The last counter reserved for a key (0: none). */
  readonly reservedCounter: (kid: string) => number;
  readonly counterUsed: (kid: string, counter: number) => boolean;
  readonly now: number;
}

export type SubmitVerdict =
  | { readonly ok: true; readonly body: CommandBody; readonly kid: string; readonly params: Record<string, unknown> }
  | { readonly ok: false; readonly reason: SubmitRefusal; readonly message: string };

const refuse = (reason: SubmitRefusal, message: string): SubmitVerdict => ({ ok: false, reason, message });

export function checkSubmittedCommand(input: SubmitInput): SubmitVerdict {
  const opened = openEnvelope(input.envelope);
  if (!opened.ok) return refuse(opened.reason, opened.detail);
  const { envelope } = opened;
  const kid = Buffer.from(envelope.kid).toString('hex');
  if (input.signer) {
    if (kid !== input.signer.kid) {
      return refuse(
        'wrong-key',
        `it is signed by key ${kid}, not by the operator's key ${input.signer.kid}; sign it with your credential`,
      );
    }
    if (!verifyCommandSignature(envelope, input.signer.publicKey)) {
      return refuse('bad-signature', `the signature does not verify with the operator's key ${kid}`);
    }
  }
  const decoded = decodeCommandBody(envelope.bodyBytes);
  if (!decoded.ok) return refuse(decoded.reason, decoded.detail);
  const { body } = decoded;
  if (body.deviceId !== input.deviceId) {
    return refuse('wrong-device', `it is signed for device ${body.deviceId}, not for ${input.deviceId}`);
  }
  const params = validateCommandParams(body.command, body.params);
  if (!params.ok) {
    return refuse(params.unknownCommand ? 'unknown-command' : 'invalid-params', schema.formatIssues(params.issues));
  }
  if (body.exp <= input.now) return refuse('expired', `it expired at ${new Date(body.exp).toISOString()}`);
  if (body.iat > input.now + MAX_ISSUE_SKEW_MS) {
    return refuse('bad-lifetime', `it is issued at ${new Date(body.iat).toISOString()}, ahead of the server's clock`);
  }
  if (body.exp > input.now + MAX_COMMAND_LIFETIME_MS) {
    return refuse('bad-lifetime', `it is valid until ${new Date(body.exp).toISOString()}, more than 24 h from now`);
  }
  if (body.counter > input.reservedCounter(kid)) {
    return refuse(
      'counter-not-reserved',
      `counter ${body.counter} of key ${kid} was never reserved; reserve one (POST /api/v1/commands/counter)`,
    );
  }
  if (input.counterUsed(kid, body.counter)) {
    return refuse(
      'counter-reused',
      `counter ${body.counter} of key ${kid} signed an earlier command; reserve a new one`,
    );
  }
  return { ok: true, body, kid, params: params.params };
}
