// The signed command envelope. The signer CBOR-encodes the body once and signs those exact bytes (with a
// domain-separation prefix); the device verifies the bytes it received and only then decodes them — it never
// re-encodes (cbor-x is not deterministic). Layout and checks are documented in docs/commands.md.
import { randomBytes } from 'node:crypto';
import { decode, encode } from '../cbor.js';
import { keyIdBytes, KEY_ID_LENGTH, sign, SIGNATURE_LENGTH, verifyStrict } from '../crypto/index.js';
import { ProtocolError } from '../errors.js';
import { messageId, timestamp } from '../messages/common.js';
import {
  bytes,
  formatIssues,
  int,
  isPlainObject,
  literal,
  object,
  str,
  type Infer,
  type Issue,
  type Schema,
} from '../schema.js';
import { DEVICE_ID_PATTERN } from '../topics.js';
import { COMMAND_NAME_PATTERN } from './registry.js';
import { validateCommandParams } from './validate.js';

/** Prefix of every signed message, so a command signature can never be replayed as any other signature. */
export const COMMAND_SIGNING_DOMAIN = Buffer.from('edgeward/cmd/v1\0', 'latin1');
export const MAX_ENVELOPE_BYTES = 8 * 1024;
export const MAX_BODY_BYTES = MAX_ENVELOPE_BYTES - 128;
export const NONCE_LENGTH = 16;
/** Longest a command may be valid (exp − iat). Bounds how long a device must remember a nonce. */
export const MAX_COMMAND_LIFETIME_MS = 24 * 3600 * 1000;

// The outer map is tiny, but a bare (unsigned) body must still decode far enough to be called unsigned.
const ENVELOPE_LIMITS = { maxBytes: MAX_ENVELOPE_BYTES, maxDepth: 8, maxItems: 2048 };
const BODY_LIMITS = { maxBytes: MAX_BODY_BYTES, maxDepth: 8, maxItems: 2048 };

/** Any value: parameters are judged per command by the registry (→ out-of-range), not by the body schema. */
const anyValue: Schema<unknown> = { describe: 'any value', check: (v) => v };

export const commandBodySchema = object({
  v: literal(1),
  /** Message id of the command; the acknowledgements carry it as cmdId. */
  id: messageId(),
  deviceId: str({ pattern: DEVICE_ID_PATTERN, maxLength: 64 }),
  command: str({ pattern: COMMAND_NAME_PATTERN, maxLength: 64 }),
  params: anyValue,
  /** Issued at / expires at, ms since the epoch on the signer's clock. */
  iat: timestamp(),
  exp: timestamp(),
  nonce: bytes({ minLength: NONCE_LENGTH, maxLength: NONCE_LENGTH }),
  /** Per-operator-key, strictly increasing: refuses replays even when the device clock is wrong. */
  counter: int({ min: 1, max: Number.MAX_SAFE_INTEGER }),
});

export type CommandBody = Omit<Infer<typeof commandBodySchema>, 'params'> & { readonly params: unknown };

export const commandEnvelopeSchema = object({
  v: literal(1),
  body: bytes({ minLength: 1, maxLength: MAX_BODY_BYTES }),
  kid: bytes({ minLength: KEY_ID_LENGTH, maxLength: KEY_ID_LENGTH }),
  // Any length up to 128 passes the schema so that a wrong length reads as "bad signature", not "malformed".
  sig: bytes({ maxLength: 128 }),
});

export interface OpenedEnvelope {
  /** The 8-byte key id (first 8 bytes of SHA-256 of the operator's public key). */
  readonly kid: Uint8Array;
  readonly sig: Uint8Array;
  /** The exact signed body bytes. */
  readonly bodyBytes: Uint8Array;
}

/** Why an envelope could not be opened; the same words as the cmd/ack reason codes. */
export interface CommandFailure {
  readonly ok: false;
  readonly reason: 'unsigned' | 'malformed' | 'bad-signature';
  readonly detail: string;
}

const fail = (reason: CommandFailure['reason'], detail: string): CommandFailure => ({
  ok: false,
  reason,
  detail: detail.slice(0, 300),
});

function bodyIssues(body: CommandBody): Issue[] {
  if (body.exp <= body.iat) return [{ path: 'exp', message: 'must be after iat' }];
  if (body.exp - body.iat > MAX_COMMAND_LIFETIME_MS)
    return [{ path: 'exp', message: `at most ${MAX_COMMAND_LIFETIME_MS / 3_600_000} h after iat` }];
  return [];
}

/** The bytes the signature covers: domain prefix ‖ body bytes. */
export function signingInput(bodyBytes: Uint8Array): Buffer {
  return Buffer.concat([COMMAND_SIGNING_DOMAIN, bodyBytes]);
}

/** Decodes the outer envelope (never the body). Never throws. */
export function openEnvelope(
  bytes: Uint8Array,
): { readonly ok: true; readonly envelope: OpenedEnvelope } | CommandFailure {
  let raw: unknown;
  try {
    raw = decode(bytes, ENVELOPE_LIMITS);
  } catch (err) {
    return fail('malformed', `envelope: ${(err as Error).message}`);
  }
  if (!isPlainObject(raw)) return fail('malformed', 'envelope is not a map');
  // A bare command body, or an envelope without a signature, is an unsigned command.
  if (!Object.hasOwn(raw, 'sig') || (raw.sig instanceof Uint8Array && raw.sig.length === 0))
    return fail('unsigned', 'the command carries no signature');
  const issues: Issue[] = [];
  const env = commandEnvelopeSchema.check(raw, '', issues);
  if (issues.length > 0) return fail('malformed', `envelope: ${formatIssues(issues)}`);
  if (env.sig.length !== SIGNATURE_LENGTH)
    return fail('bad-signature', `signature is ${env.sig.length} bytes, not ${SIGNATURE_LENGTH}`);
  return { ok: true, envelope: { kid: env.kid, sig: env.sig, bodyBytes: env.body } };
}

/** Strict Ed25519 (canonical S, no small-order keys) over the domain-separated exact body bytes. */
export function verifyCommandSignature(
  envelope: Pick<OpenedEnvelope, 'sig' | 'bodyBytes'>,
  publicKey: Uint8Array,
): boolean {
  return verifyStrict(envelope.sig, signingInput(envelope.bodyBytes), publicKey);
}

/** Decodes and checks the body bytes (only after the signature verified, on a device). Never throws. */
export function decodeCommandBody(
  bodyBytes: Uint8Array,
): { readonly ok: true; readonly body: CommandBody } | CommandFailure {
  let raw: unknown;
  try {
    raw = decode(bodyBytes, BODY_LIMITS);
  } catch (err) {
    return fail('malformed', `body: ${(err as Error).message}`);
  }
  if (isPlainObject(raw) && raw.v !== 1)
    return fail('malformed', `body: schema version ${JSON.stringify(raw.v)?.slice(0, 20)} is not 1`);
  const issues: Issue[] = [];
  const body = commandBodySchema.check(raw, '', issues) as CommandBody;
  if (issues.length === 0) issues.push(...bodyIssues(body));
  if (issues.length > 0) return fail('malformed', `body: ${formatIssues(issues)}`);
  return { ok: true, body };
}

/** The body's id when it can be read, else null: for acknowledging a refused command. Not authenticated. */
export function peekCommandId(bodyBytes: Uint8Array | undefined): string | null {
  if (!bodyBytes) return null;
  try {
    const raw = decode(bodyBytes, BODY_LIMITS);
    const id = isPlainObject(raw) ? raw.id : undefined;
    return typeof id === 'string' && /^[A-Za-z0-9_-]{8,64}$/.test(id) ? id : null;
  } catch {
    return null;
  }
}

/** Envelope and body in one step, without verifying: for the server and CLIs that inspect a command. */
export function openCommand(
  bytes: Uint8Array,
):
  | ({ readonly ok: true; readonly body: CommandBody } & OpenedEnvelope)
  | (CommandFailure & { readonly cmdId: string | null }) {
  const opened = openEnvelope(bytes);
  if (!opened.ok) return { ...opened, cmdId: null };
  const decoded = decodeCommandBody(opened.envelope.bodyBytes);
  if (!decoded.ok) return { ...decoded, cmdId: peekCommandId(opened.envelope.bodyBytes) };
  return { ok: true, body: decoded.body, ...opened.envelope };
}

/** Encodes a body after checking its schema and the registry's parameter schema; throws ProtocolError. */
export function encodeCommandBody(body: CommandBody): Buffer {
  const issues: Issue[] = [];
  commandBodySchema.check(body, '', issues);
  if (issues.length === 0) issues.push(...bodyIssues(body));
  if (issues.length === 0) {
    const p = validateCommandParams(body.command, body.params);
    if (!p.ok) issues.push(...p.issues);
  }
  if (issues.length > 0)
    throw new ProtocolError('PROTO_INVALID_MESSAGE', `invalid command: ${formatIssues(issues)}`, {
      details: { issues },
    });
  const bytes = encode(body);
  if (bytes.length > MAX_BODY_BYTES)
    throw new ProtocolError('PROTO_TOO_LARGE', `command body is ${bytes.length} bytes; the limit is ${MAX_BODY_BYTES}`);
  return bytes;
}

/** Signs exact body bytes as they are, without any check (tests build hostile commands with it). */
export function signCommandBytes(bodyBytes: Uint8Array, secretKey: Uint8Array): Buffer {
  const sig = sign(signingInput(bodyBytes), secretKey);
  return encode({ v: 1, body: bodyBytes, kid: keyIdBytes(secretKey.subarray(32)), sig });
}

/** As signCommand, with the signature made by `signFn` (a key inside a PKCS#11 token) for `publicKey`. */
export function signCommandWith(
  body: CommandBody,
  publicKey: Uint8Array,
  signFn: (message: Uint8Array) => Uint8Array,
): Buffer {
  const bodyBytes = encodeCommandBody(body);
  return encode({ v: 1, body: bodyBytes, kid: keyIdBytes(publicKey), sig: signFn(signingInput(bodyBytes)) });
}

/** Validates (schema + registry), encodes and signs a command: the envelope bytes to publish on …/cmd. */
export function signCommand(body: CommandBody, secretKey: Uint8Array): Buffer {
  return signCommandBytes(encodeCommandBody(body), secretKey);
}

export const newNonce = (): Uint8Array => new Uint8Array(randomBytes(NONCE_LENGTH));

export interface NewCommandOptions {
  readonly deviceId: string;
  readonly command: string;
  readonly params: Record<string, unknown>;
  /** Per-key counter: strictly greater than every counter this key signed before. */
  readonly counter: number;
  readonly ttlMs?: number;
  readonly now?: number;
  readonly id?: string;
}

/** A fresh body: random id and nonce, iat = now, exp = now + ttl (default 5 minutes). */
export function newCommandBody(o: NewCommandOptions): CommandBody {
  const now = o.now ?? Date.now();
  return {
    v: 1,
    id: o.id ?? randomBytes(12).toString('base64url'),
    deviceId: o.deviceId,
    command: o.command,
    params: o.params,
    iat: now,
    exp: now + (o.ttlMs ?? 5 * 60_000),
    nonce: newNonce(),
    counter: o.counter,
  };
}
