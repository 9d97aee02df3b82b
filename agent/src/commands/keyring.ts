// The trusted operator keyring: which Ed25519 keys may command this device, and which commands each may send.
// It comes from the agent config (operators[]); keys are SPKI PEM, inline or in a file.
import { isAbsolute, resolve } from 'node:path';
import { readRegularText, schema as s, type schema } from '../../../shared/src/index.js';
import { isCommandName } from '../../../shared/src/commands/index.js';
import { keyId, MAX_PEM_BYTES, parsePublicKeyPem } from '../../../shared/src/crypto/index.js';

export const operatorConfigSchema = s.object({
  /** A label for logs and acks' audit trail. */
  name: s.str({ pattern: /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/, maxLength: 64 }),
  /** SPKI PEM text ("-----BEGIN PUBLIC KEY-----…"), or the path of a file holding it. */
  publicKey: s.str({ minLength: 1, maxLength: MAX_PEM_BYTES }),
  /** Command names this key may send, or ["*"] for all. */
  allow: s.array(s.str({ minLength: 1, maxLength: 64 }), { minItems: 1, maxItems: 64 }),
});
export type OperatorConfig = schema.Infer<typeof operatorConfigSchema>;

export interface OperatorKey {
  readonly name: string;
  /** 16 hex characters: the first 8 bytes of SHA-256 of the public key (the envelope's kid). */
  readonly kid: string;
  readonly publicKey: Uint8Array;
  /** null: every command. */
  readonly allow: ReadonlySet<string> | null;
}

export interface Keyring {
  /** The key with this 8-byte id, if trusted. */
  get(kid: Uint8Array): OperatorKey | undefined;
  allows(key: OperatorKey, command: string): boolean;
  readonly size: number;
}

export const isInlinePem = (text: string) => text.includes('-----BEGIN');

/** Returns the PEM text of an operator key (reading the file when a path is given) or a problem. */
export function resolveOperatorPem(publicKey: string, baseDir: string): { pem: string } | { problem: string } {
  if (isInlinePem(publicKey)) return { pem: publicKey };
  const file = isAbsolute(publicKey) ? publicKey : resolve(baseDir, publicKey);
  try {
    // A regular file only: a FIFO would block the agent's start for ever.
    return { pem: readRegularText(file, { maxBytes: MAX_PEM_BYTES }) };
  } catch (err) {
    return { problem: (err as Error).message };
  }
}

/** Checks one operator entry; returns the problems found, each with its path. */
export function checkOperator(op: OperatorConfig, path: string): schema.Issue[] {
  const issues: schema.Issue[] = [];
  try {
    parsePublicKeyPem(op.publicKey, `${path}.publicKey`);
  } catch (err) {
    issues.push({ path: `${path}.publicKey`, message: (err as Error).message });
  }
  op.allow.forEach((c, i) => {
    if (c !== '*' && !isCommandName(c))
      issues.push({ path: `${path}.allow[${i}]`, message: `unknown command ${JSON.stringify(c)}` });
  });
  if (op.allow.includes('*') && op.allow.length > 1)
    issues.push({ path: `${path}.allow`, message: '"*" already allows every command; list it alone' });
  return issues;
}

/** Builds the keyring from validated operator entries (PEM text). */
export function createKeyring(operators: readonly OperatorConfig[]): Keyring {
  const byKid = new Map<string, OperatorKey>();
  for (const op of operators) {
    const publicKey = parsePublicKeyPem(op.publicKey, `operator ${op.name}`);
    const kid = keyId(publicKey);
    byKid.set(kid, { name: op.name, kid, publicKey, allow: op.allow.includes('*') ? null : new Set(op.allow) });
  }
  return {
    get: (kid) => byKid.get(Buffer.from(kid).toString('hex')),
    allows: (key, command) => key.allow === null || key.allow.has(command),
    size: byKid.size,
  };
}

/** Key ids of the entries, for duplicate detection at config time (undefined for an unreadable key). */
export function operatorKid(op: OperatorConfig): string | undefined {
  try {
    return keyId(parsePublicKeyPem(op.publicKey));
  } catch {
    return undefined;
  }
}
