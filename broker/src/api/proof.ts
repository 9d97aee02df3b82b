// Proof of possession: an operator gets a token by sending an assertion signed with its Ed25519 key (a JWT that
// lives at most a minute, for this fleet only, with a one-time jti). The key itself never travels; a captured
// assertion cannot be replayed (the jti is a primary key) and dies within a minute anyway.
import { createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';
import { decodeProtectedHeader, errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import type { Db } from '../db/open.js';
import type { Operator } from '../db/operators.js';
import type { OperatorRegistryStore } from '../store/types.js';
import { signCompactJws } from './token-signer.js';

export const PROOF_TYPE = 'edgeward-pop+jwt';
/** Longest an assertion may live (exp - iat), and the clock skew tolerated on iat. */
export const PROOF_MAX_AGE_S = 60;
const CLOCK_SKEW_S = 30;

/**
 * Until when (ms since the epoch) a spent proof must stay spent: a proof is accepted up to the clock skew after its
 * `exp` (in seconds), so its jti is kept that long.
 */
export const proofSpentUntilMs = (exp: number): number => (exp + CLOCK_SKEW_S) * 1000;

/** What the operator asks for, inside the signed assertion. */
export interface TokenRequest {
  readonly scopes?: readonly string[];
  readonly devices?: readonly string[];
  readonly ttlSeconds?: number;
}

/** Client side: the assertion that proves possession of `privateKeyPem` (the operator's credential). */
export async function createProof(opts: {
  /** The credential: PEM contents, or a signer (a key in a PKCS#11 token, see token-signer.ts). */
  privateKeyPem: string | { sign(data: Uint8Array): Uint8Array };
  kid: string;
  audience: string;
  request?: TokenRequest;
  now?: number;
}): Promise<string> {
  const iat = Math.floor((opts.now ?? Date.now()) / 1000);
  const r = opts.request ?? {};
  const claims = {
    ...(r.scopes?.length ? { scope: r.scopes.join(' ') } : {}),
    ...(r.devices?.length ? { devices: [...r.devices] } : {}),
    ...(r.ttlSeconds ? { ttl: r.ttlSeconds } : {}),
  };
  const jti = randomBytes(16).toString('base64url');
  if (typeof opts.privateKeyPem !== 'string') {
    const header = { alg: 'EdDSA', kid: opts.kid, typ: PROOF_TYPE };
    const payload = { ...claims, iss: opts.kid, sub: opts.kid, aud: opts.audience, iat, exp: iat + 30, jti };
    return signCompactJws(header, payload, opts.privateKeyPem);
  }
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'EdDSA', kid: opts.kid, typ: PROOF_TYPE })
    .setIssuer(opts.kid)
    .setSubject(opts.kid)
    .setAudience(opts.audience)
    .setIssuedAt(iat)
    .setExpirationTime(iat + 30)
    .setJti(jti)
    .sign(createPrivateKey(opts.privateKeyPem));
}

export type ProofFailure =
  | 'malformed'
  | 'wrong-fleet'
  | 'unknown-operator'
  | 'operator-revoked'
  | 'bad-signature'
  | 'expired'
  | 'replayed';

export type ProofResult =
  | { ok: true; operator: Operator; request: TokenRequest }
  | { ok: false; reason: ProofFailure; operator?: Operator };

/** Spends a proof's jti until `expiresAt` (seconds): true the first time, false for a replay. */
export type ProofClaim = (jti: string, operatorId: number, expiresAt: number) => Promise<boolean>;

export function createProofVerifier(opts: {
  db: Db;
  operators: Pick<OperatorRegistryStore, 'byKid'>;
  audience: string;
  now?: () => number;
  /**
   * Where a proof is spent: by default this folder's token_requests; on a cluster every node's API must see the
   * same spent proofs, or a proof used on one node could be replayed on another (cluster/bus.ts claimOnce).
   */
  claim?: ProofClaim;
}) {
  const now = opts.now ?? Date.now;
  const insert = opts.db.prepare(`INSERT INTO token_requests (jti, operator_id, expires_at) VALUES (?, ?, ?)`);
  const prune = opts.db.prepare(`DELETE FROM token_requests WHERE expires_at < ?`);
  const claimHere: ProofClaim = async (jti, operatorId, expiresAt) => {
    // Rows whose proofs are no longer accepted even with the clock skew (expires_at is the proof's exp).
    prune.run(Math.floor(now() / 1000) - CLOCK_SKEW_S);
    try {
      insert.run(jti, operatorId, expiresAt);
      return true;
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') return false;
      throw err;
    }
  };
  const claim = opts.claim ?? claimHere;
  return async function verifyProof(assertion: string): Promise<ProofResult> {
    if (assertion.length > 4096 || !/^[\w-]+\.[\w-]+\.[\w-]+$/.test(assertion))
      return { ok: false, reason: 'malformed' };
    let kid: unknown;
    try {
      ({ kid } = decodeProtectedHeader(assertion));
    } catch {
      return { ok: false, reason: 'malformed' };
    }
    if (typeof kid !== 'string' || !/^[0-9a-f]{16}$/.test(kid)) return { ok: false, reason: 'malformed' };
    const operator = await opts.operators.byKid(kid);
    if (!operator) return { ok: false, reason: 'unknown-operator' };
    if (operator.status !== 'active') return { ok: false, reason: 'operator-revoked', operator };
    let payload: Awaited<ReturnType<typeof jwtVerify>>['payload'];
    try {
      ({ payload } = await jwtVerify(assertion, createPublicKey(operator.publicKey), {
        algorithms: ['EdDSA'],
        typ: PROOF_TYPE,
        audience: opts.audience,
        issuer: kid,
        subject: kid,
        maxTokenAge: PROOF_MAX_AGE_S,
        clockTolerance: CLOCK_SKEW_S,
        currentDate: new Date(now()),
        requiredClaims: ['iat', 'exp', 'jti'],
      }));
    } catch (err) {
      if (err instanceof joseErrors.JWSSignatureVerificationFailed)
        return { ok: false, reason: 'bad-signature', operator };
      if (err instanceof joseErrors.JWTExpired) return { ok: false, reason: 'expired', operator };
      if (err instanceof joseErrors.JWTClaimValidationFailed && err.claim === 'aud') {
        return { ok: false, reason: 'wrong-fleet', operator };
      }
      return { ok: false, reason: 'malformed', operator };
    }
    const { iat = 0, exp = 0, jti } = payload;
    if (exp - iat > PROOF_MAX_AGE_S || iat > now() / 1000 + CLOCK_SKEW_S)
      return { ok: false, reason: 'expired', operator };
    if (typeof jti !== 'string' || jti.length < 16 || jti.length > 64)
      return { ok: false, reason: 'malformed', operator };
    const request = parseRequest(payload);
    if (!request) return { ok: false, reason: 'malformed', operator };
    if (!(await claim(jti, operator.id, exp))) return { ok: false, reason: 'replayed', operator };
    return { ok: true, operator, request };
  };
}

function parseRequest(p: Record<string, unknown>): TokenRequest | undefined {
  const scopes = p.scope === undefined ? undefined : typeof p.scope === 'string' ? p.scope.split(' ') : null;
  const devices = p.devices;
  const ttl = p.ttl;
  if (scopes === null) return undefined;
  if (devices !== undefined && (!Array.isArray(devices) || !devices.every((d) => typeof d === 'string')))
    return undefined;
  if (ttl !== undefined && (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 1)) return undefined;
  return {
    ...(scopes ? { scopes } : {}),
    ...(devices ? { devices: devices as string[] } : {}),
    ...(ttl ? { ttlSeconds: ttl as number } : {}),
  };
}
