// The firmware manifest: the CBOR map every release key signs, its schema and its deterministic encoding.
import { decode } from '../../../shared/src/cbor.js';
import { bytes, formatIssues, literal, object, optional, str, validate } from '../../../shared/src/schema.js';
import { BundleError } from '../errors.js';
import { encodeCbor } from './cbor-deterministic.js';
import { MAX_MANIFEST_BYTES } from './format.js';
import { uint } from './schema-extra.js';
import { SEMVER } from './semver.js';
import { isoSeconds } from './time.js';

export const MANIFEST_FORMAT = 1;
export const HARDWARE_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;
export const MAX_NOTES_LENGTH = 8 * 1024;

const manifestSchema = object({
  format: literal(MANIFEST_FORMAT),
  hardware: str({ pattern: HARDWARE_ID, maxLength: 64 }),
  version: str({ pattern: SEMVER, maxLength: 128 }),
  sequence: uint({ min: 1 }),
  size: uint(),
  sha256: bytes({ minLength: 32, maxLength: 32 }),
  created: uint(),
  expires: uint(),
  minAgentVersion: optional(str({ pattern: SEMVER, maxLength: 128 })),
  notes: optional(str({ maxLength: MAX_NOTES_LENGTH })),
});

/** Times are NumericDate: whole seconds since the Unix epoch (RFC 8392 §2). */
export interface Manifest {
  readonly format: typeof MANIFEST_FORMAT;
  /** Product / hardware id the payload is built for. */
  readonly hardware: string;
  /** Semantic version of the firmware, for people. */
  readonly version: string;
  /** Monotonic sequence number; a device installs only a sequence above its installed one. */
  readonly sequence: number;
  /** Exact payload size in bytes. */
  readonly size: number;
  /** SHA-256 of the payload. */
  readonly sha256: Uint8Array;
  readonly created: number;
  readonly expires: number;
  readonly minAgentVersion?: string;
  readonly notes?: string;
}

function check(value: unknown): Manifest {
  if (
    typeof value === 'object' &&
    value !== null &&
    'format' in value &&
    (value as { format: unknown }).format !== MANIFEST_FORMAT
  ) {
    const format = (value as { format: unknown }).format;
    throw new BundleError(
      'FW_FORMAT_VERSION',
      `manifest format ${JSON.stringify(format)} is not supported; this verifier speaks format ${MANIFEST_FORMAT}`,
      {
        details: { format: typeof format === 'bigint' ? String(format) : format },
      },
    );
  }
  const result = validate(manifestSchema, value);
  if (!result.ok) {
    throw new BundleError('FW_MANIFEST_INVALID', `manifest: ${formatIssues(result.issues)}`, {
      details: { issues: result.issues },
    });
  }
  const m = result.value as Manifest;
  if (m.expires <= m.created) throw new BundleError('FW_MANIFEST_INVALID', 'manifest: expires must be after created');
  return m;
}

/** Validates and encodes a manifest deterministically (RFC 8949 §4.2.1). */
export function encodeManifest(manifest: Manifest): Uint8Array {
  const m = check(manifest);
  const out = encodeCbor({ ...m });
  if (out.length > MAX_MANIFEST_BYTES)
    throw new BundleError('FW_MANIFEST_INVALID', `manifest is ${out.length} bytes; at most ${MAX_MANIFEST_BYTES}`);
  return out;
}

/** Decodes the signed manifest bytes (call only after the signatures over them were checked). */
export function decodeManifest(bytes: Uint8Array): Manifest {
  let value: unknown;
  try {
    value = decode(bytes, { maxBytes: MAX_MANIFEST_BYTES, maxDepth: 2, maxItems: 64 });
  } catch (err) {
    throw new BundleError(
      'FW_MANIFEST_INVALID',
      `manifest is not a CBOR map with text keys: ${(err as Error).message}`,
      { cause: err },
    );
  }
  return check(value);
}

/** A manifest as JSON-friendly values (digest in hex, times in ISO 8601) for `fw inspect` and `--json`. */
export function manifestToJson(m: Manifest): Record<string, unknown> {
  return {
    format: m.format,
    hardware: m.hardware,
    version: m.version,
    sequence: m.sequence,
    size: m.size,
    sha256: Buffer.from(m.sha256).toString('hex'),
    created: isoSeconds(m.created),
    expires: isoSeconds(m.expires),
    ...(m.minAgentVersion !== undefined ? { minAgentVersion: m.minAgentVersion } : {}),
    ...(m.notes !== undefined ? { notes: m.notes } : {}),
  };
}
