// The one error the key helpers raise: a key that cannot be read, or one that must never be trusted.
import { defineCodes, EdgewardError } from '../errors.js';

export const keyCodes = defineCodes({
  KEY_INVALID: 'The key is not an Ed25519 key in PKCS#8 (private) or SPKI (public) PEM, or has the wrong length.',
  KEY_WEAK:
    'The Ed25519 public key is a small-order point or a non-canonical encoding, so it could vouch for ' +
    'forged signatures.',
});
export type KeyCode = keyof typeof keyCodes;

export class KeyError extends EdgewardError {
  declare readonly code: KeyCode;
  constructor(code: KeyCode, message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(code, message, options);
  }
}
