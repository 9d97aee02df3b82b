// Public face of edgeward's Ed25519 layer: strict verification over tweetnacl, key ids and PEM key files.
export {
  generateKeyPair,
  keyPairFromSeed,
  sign,
  verifyStrict,
  checkSignature,
  checkPublicKey,
  equalBytes,
  PUBLIC_KEY_LENGTH,
  SECRET_KEY_LENGTH,
  SEED_LENGTH,
  SIGNATURE_LENGTH,
  type Ed25519KeyPair,
  type SignatureCheck,
} from './ed25519.js';
export { isCanonicalPoint, isSmallOrder, isCanonicalScalar, decodePoint, GROUP_ORDER } from './edwards25519.js';
export { keyId, keyIdBytes, KEY_ID_LENGTH } from './key-id.js';
export {
  publicKeyToPem,
  privateKeyToPem,
  parsePrivateKeyPem,
  parsePublicKeyPem,
  parseKeyPem,
  MAX_PEM_BYTES,
} from './pem.js';
export { KeyError, keyCodes, type KeyCode } from './key-error.js';
export { secretboxOpen } from './secretbox-open.js';
export {
  SEAL_VERSION,
  SEAL_KEY_FILE,
  BACKEND_KEY_FILE,
  SEAL_KEY_LENGTH,
  SEAL_NONCE_LENGTH,
  SEAL_KID_LENGTH,
  sealCodes,
  SealError,
  type SealCode,
  type SealKeyPair,
  type Envelope,
  type SealChannel,
  sealKeyId,
  sealKeyPairFromSecret,
  generateSealKeyPair,
  sealSecretKeyToPem,
  sealPublicKeyToPem,
  parseSealSecretKeyPem,
  parseSealPublicKeyPem,
  checkSealPublicKey,
  sealChannel,
  seal as sealMessage,
  isSealed as isSealedEnvelope,
  parseEnvelope,
  openEnvelope,
  hexKid,
} from './seal.js';
