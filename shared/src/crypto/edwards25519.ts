// Edwards25519 encoding checks in BigInt: canonical point decoding, small-order points and canonical scalars.
// tweetnacl does not expose these checks, so the strict Ed25519 wrapper (ed25519.ts) does them here first.
// They run only on public data (keys, signature R and S), so constant time is not needed.

const P = (1n << 255n) - 19n;
/** The order of the prime-order subgroup (RFC 8032 §5.1: L = 2^252 + 27742317777372353535851937790883648493). */
export const GROUP_ORDER = (1n << 252n) + 27742317777372353535851937790883648493n;

const mod = (a: bigint): bigint => {
  const r = a % P;
  return r >= 0n ? r : r + P;
};

function pow(base: bigint, exp: bigint): bigint {
  let result = 1n;
  let b = mod(base);
  let e = exp;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % P;
    b = (b * b) % P;
    e >>= 1n;
  }
  return result;
}

const D = mod(-121665n * pow(121666n, P - 2n)); // RFC 8032 §5.1: d = -121665/121666
const SQRT_M1 = pow(2n, (P - 1n) / 4n);

/** Little-endian bytes to an integer. */
export function littleEndianToBigInt(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]!);
  return n;
}

/** An affine point with x and y reduced mod p. */
export interface EdwardsPoint {
  readonly x: bigint;
  readonly y: bigint;
}

/**
 * Decodes a 32-byte point encoding strictly (RFC 8032 §5.1.3): y must be below p, the point must lie on
 * the curve, and x = 0 must not come with the sign bit set. Returns undefined for every other encoding.
 */
export function decodePoint(bytes: Uint8Array): EdwardsPoint | undefined {
  if (!(bytes instanceof Uint8Array) || bytes.length !== 32) return undefined;
  const sign = bytes[31]! >> 7;
  const y = littleEndianToBigInt(bytes) & ((1n << 255n) - 1n);
  if (y >= P) return undefined; // step 1: a non-canonical y
  const y2 = (y * y) % P;
  const u = mod(y2 - 1n);
  const v = mod(D * y2 + 1n);
  const v3 = (((v * v) % P) * v) % P;
  const v7 = (((v3 * v3) % P) * v) % P;
  // Step 2: candidate root x = u v^3 (u v^7)^((p-5)/8).
  let x = (((u * v3) % P) * pow((u * v7) % P, (P - 5n) / 8n)) % P;
  const vx2 = (((v * x) % P) * x) % P;
  if (vx2 === u) {
    // x is a square root of u/v
  } else if (vx2 === mod(-u)) {
    x = (x * SQRT_M1) % P;
  } else {
    return undefined; // step 3: not on the curve
  }
  if (x === 0n && sign === 1) return undefined; // step 4: "negative zero"
  if (Number(x & 1n) !== sign) x = P - x;
  return { x, y };
}

/** True when [8]point is the identity, i.e. the point lies in the torsion subgroup of order 1, 2, 4 or 8. */
export function isSmallOrderPoint(point: EdwardsPoint): boolean {
  // Extended homogeneous coordinates (RFC 8032 §5.1.4), doubling with a = -1; no inversions needed.
  let X = point.x;
  let Y = point.y;
  let Z = 1n;
  for (let i = 0; i < 3; i++) {
    const A = (X * X) % P;
    const B = (Y * Y) % P;
    const C = (2n * Z * Z) % P;
    const H = (A + B) % P;
    const E = mod(H - (X + Y) * (X + Y));
    const G = mod(A - B);
    const F = (C + G) % P;
    X = (E * F) % P;
    Y = (G * H) % P;
    Z = (F * G) % P;
  }
  return X === 0n && Y === Z; // the identity is (0 : Z : Z)
}

/** True when `bytes` is the canonical encoding of a curve point (the only encodings a strict verifier accepts). */
export function isCanonicalPoint(bytes: Uint8Array): boolean {
  return decodePoint(bytes) !== undefined;
}

/** True when `bytes` decodes to a point of small order (a weak key: it verifies forged signatures). */
export function isSmallOrder(bytes: Uint8Array): boolean {
  const point = decodePoint(bytes);
  return point !== undefined && isSmallOrderPoint(point);
}

/** True when the 32-byte little-endian scalar is below the group order L (RFC 8032 §5.1.7: S < L). */
export function isCanonicalScalar(bytes: Uint8Array): boolean {
  return bytes instanceof Uint8Array && bytes.length === 32 && littleEndianToBigInt(bytes) < GROUP_ORDER;
}
