// Public face of firmware-tools for the agent and the fleet server: bundle verification and signing,
// trust documents and their chain, COSE_Sign1 helpers and key files.
export {
  verifyBundle,
  checkManifestForDevice,
  type VerifyOptions,
  type VerifiedBundle,
} from './bundle/verify-stream.js';
export { inspectBundle, type InspectedBundle, type InspectedSignature } from './bundle/inspect-bundle.js';
export type { BundleInput } from './bundle/byte-source.js';
export {
  buildManifest,
  createBundle,
  encodeBundleHeader,
  hashFile,
  signBundleFile,
  DEFAULT_BUNDLE_LIFETIME_SECONDS,
  type ReleaseSpec,
  type SignFileOptions,
  type SignedBundle,
} from './bundle/sign-bundle.js';
export { decodeManifest, encodeManifest, manifestToJson, MANIFEST_FORMAT, type Manifest } from './bundle/manifest.js';
export {
  BUNDLE_MAGIC,
  FRAME_LENGTH,
  MANIFEST_CONTENT_TYPE,
  MAX_HEADER_BYTES,
  MAX_MANIFEST_BYTES,
} from './bundle/format.js';
export {
  verifyTrustDocument,
  updateTrust,
  resolveTrustChain,
  requireTrustCurrent,
  type TrustState,
  type TrustAnchor,
  type TrustCheckOptions,
} from './bundle/trust-chain.js';
export { parseTrustDocument, TRUST_CONTENT_TYPE, type TrustBody, type TrustDocument } from './bundle/trust-document.js';
export {
  createTrust,
  nextTrust,
  withReleaseKeys,
  withoutReleaseKeys,
  type CreateTrustOptions,
  type TrustChange,
} from './bundle/trust-edit.js';
export {
  decodeCoseSign1,
  parseCoseSign1,
  sigStructure1,
  checkCoseSign1,
  signCoseSign1,
  ALG_EDDSA,
  COSE_SIGN1_TAG,
  type CoseSign1,
} from './bundle/cose-sign1.js';
export { decodeSignatureSet, encodeSignatureSet, type SignatureSet, type Signer } from './bundle/signature-set.js';
export { compareSemver, isSemver } from './bundle/semver.js';
export { loadSigner, loadPublicKey, loadKey, writeKeyPair } from './key-files.js';
export { BundleError, bundleCodes, type BundleCode } from './errors.js';
