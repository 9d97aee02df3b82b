// Short-lived, scoped API tokens: JWTs (RFC 9068 access-token profile) signed with EdDSA by a server key that
// rotates. A token names its operator, role, scopes and optionally the devices it is limited to; the operator's
// current status is checked on every request elsewhere (auth.ts), so revocation does not wait for expiry.
// On a cluster the public halves of the signing keys are published in the shared store, so a token one node signed
// verifies on every other; the private halves never leave the node (its data folder, or its HSM).
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { errors as joseErrors, jwtVerify, SignJWT, type JWTPayload } from 'jose';
import type { Db } from '../db/open.js';
import { createTokenKeys, TOKEN_KID_PATTERN } from '../db/token-keys.js';
import type { TokenKeyStore } from '../store/types.js';
import { isRole, isScope, type Role, type Scope } from './roles.js';
import { signCompactJws, type TokenSigner } from './token-signer.js';

export const DEFAULT_TOKEN_TTL_MS = 15 * 60_000;
export const MAX_TOKEN_TTL_MS = 60 * 60_000;
/** A new signing key every day; the old one verifies until the last token it signed has expired. */
export const TOKEN_KEY_ROTATION_MS = 24 * 3600_000;
/** Most devices a token can be limited to (it travels in every request header). */
export const MAX_TOKEN_DEVICES = 100;
const TOKEN_TYPE = 'at+jwt';

export interface TokenClaims {
  readonly operatorId: number;
  readonly operator: string;
  readonly role: Role;
  readonly scopes: readonly Scope[];
  /** null: every device the role may reach. */
  readonly devices: readonly string[] | null;
  readonly expiresAt: number;
  readonly jti: string;
}

export interface IssuedToken {
  readonly token: string;
  readonly expiresAt: string;
  readonly scopes: readonly Scope[];
  readonly devices: readonly string[] | null;
}

/** Why a token was refused; each is a 401 and a security event. */
export type TokenFailure = 'malformed' | 'expired' | 'bad-signature' | 'foreign-issuer' | 'unknown-key' | 'lifetime';

/**
 * How far a token's issue time may be ahead of this node's clock (nodes of a cluster verify each other's tokens).
 * With the lifetime cap, every token accepted expires within MAX_TOKEN_TTL_MS plus this of now, whoever signed it.
 */
export const TOKEN_CLOCK_SKEW_MS = 5 * 60_000;

/** A signing key in use is published in a cluster's shared store again this often (see publish() below). */
const REPUBLISH_MS = 60 * 60_000;
/** A verification key read from the database or the shared store is read again after this long. */
const VERIFY_KEY_CACHE_MS = 10 * 60_000;

export type TokenService = ReturnType<typeof createTokenService>;

export function createTokenService(opts: {
  db: Db;
  /** Identifies this fleet (issuer and audience): tokens of another fleet are refused. */
  issuer: string;
  now?: () => number;
  rotateAfterMs?: number;
  /**
   * A signing key held in a hardware security module (`fleet serve --token-key PKCS11-URI`): every new token is
   * signed by it and it does not rotate; tokens signed earlier by database keys still verify until they expire.
   */
  signer?: TokenSigner;
  /**
   * A cluster's shared store: the public half of each key this node signs with is published there before its first
   * token leaves, and a kid this node does not hold is looked up there.
   */
  shared?: TokenKeyStore;
}) {
  const { signer, shared } = opts;
  const { db, issuer } = opts;
  const now = opts.now ?? Date.now;
  const rotateAfterMs = opts.rotateAfterMs ?? TOKEN_KEY_ROTATION_MS;
  const keys = createTokenKeys(db);
  // Public keys by kid, each read again after VERIFY_KEY_CACHE_MS: a key pruned (here or in the shared store) stops
  // verifying on every node within that time. Revoking an operator is checked per request, not here.
  const verifyKeys = new Map<string, { key: KeyObject; until: number }>();
  /** When this process last published each kid in the shared store. */
  const published = new Map<string, number>();
  // Tokens already verified, until they expire: a client sends the same token with every request, and checking its
  // Ed25519 signature again each time was a fifth of an API request's event-loop time (bench/operator-api). A
  // token's bytes fix its claims, so only its expiry is checked again; the operator's status is checked per
  // request by the caller (auth.ts), so a revocation still takes effect at once. Bounded: oldest out first.
  const verified = new Map<string, TokenClaims>();

  function signingKey(): { kid: string; key: KeyObject; publicKey: string; createdAt: number; rotated: boolean } {
    let row = keys.newest();
    let rotated = false;
    if (!row || now() - row.createdAt >= rotateAfterMs) {
      rotated = true;
      const pair = generateKeyPairSync('ed25519');
      row = {
        kid: randomBytes(8).toString('hex'),
        privateKey: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
        publicKey: pair.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
        createdAt: now(),
      };
      keys.add(row);
      // A key retired more than a token's lifetime ago can no longer have a live token.
      keys.prune(now() - rotateAfterMs - MAX_TOKEN_TTL_MS, row.kid);
    }
    return { ...row, key: createPrivateKey(row.privateKey), rotated };
  }

  /**
   * Publishes a signing key's public half before the first token it signs can reach another node, and again every
   * REPUBLISH_MS while it signs: its time in the shared store says it is in use (an HSM's key signs for longer than
   * a rotation), so that the store's pruning, a day and an hour later, never removes a key under a live token.
   */
  async function publish(key: { kid: string; publicKey: string }): Promise<void> {
    if (!shared) return;
    const last = published.get(key.kid);
    if (last !== undefined && now() - last < REPUBLISH_MS) return;
    const at = now();
    await shared.publish({ kid: key.kid, publicKey: key.publicKey, createdAt: at });
    published.set(key.kid, at);
  }

  async function verifyKey(kid: unknown): Promise<KeyObject | undefined> {
    if (typeof kid !== 'string' || !TOKEN_KID_PATTERN.test(kid)) return undefined;
    if (signer !== undefined && kid === signer.kid) return signer.publicKey;
    const cached = verifyKeys.get(kid);
    if (cached && cached.until > now()) return cached.key;
    const row = keys.get(kid) ?? (await shared?.get(kid));
    if (!row) {
      verifyKeys.delete(kid);
      return undefined;
    }
    const key = createPublicKey(row.publicKey);
    verifyKeys.set(kid, { key, until: now() + VERIFY_KEY_CACHE_MS });
    return key;
  }

  return {
    issuer,
    async issue(t: {
      operatorId: number;
      operator: string;
      role: Role;
      scopes: readonly Scope[];
      devices: readonly string[] | null;
      ttlMs: number;
    }): Promise<IssuedToken> {
      const iat = Math.floor(now() / 1000);
      const exp = iat + Math.max(1, Math.floor(Math.min(t.ttlMs, MAX_TOKEN_TTL_MS) / 1000));
      const claims: JWTPayload = {
        role: t.role,
        scope: t.scopes.join(' '),
        oid: t.operatorId,
        name: t.operator,
        ...(t.devices ? { devices: [...t.devices] } : {}),
      };
      const jti = randomBytes(12).toString('base64url');
      const sub = `operator:${t.operator}`;
      if (signer !== undefined) {
        const publicKey = signer.publicKey.export({ type: 'spki', format: 'pem' }).toString();
        await publish({ kid: signer.kid, publicKey });
        const header = { alg: 'EdDSA', kid: signer.kid, typ: TOKEN_TYPE };
        const token = signCompactJws(header, { ...claims, iss: issuer, aud: issuer, sub, iat, exp, jti }, signer);
        return { token, expiresAt: new Date(exp * 1000).toISOString(), scopes: t.scopes, devices: t.devices };
      }
      const signing = signingKey();
      await publish(signing);
      // Once a day (at this node's rotation): the shared store forgets the keys no node has used for a day and an hour.
      if (signing.rotated) await shared?.prune(now() - rotateAfterMs - MAX_TOKEN_TTL_MS);
      const { kid, key } = signing;
      const token = await new SignJWT(claims)
        .setProtectedHeader({ alg: 'EdDSA', kid, typ: TOKEN_TYPE })
        .setIssuer(issuer)
        .setAudience(issuer)
        .setSubject(sub)
        .setIssuedAt(iat)
        .setExpirationTime(exp)
        .setJti(jti)
        .sign(key);
      return { token, expiresAt: new Date(exp * 1000).toISOString(), scopes: t.scopes, devices: t.devices };
    },

    /** Checks signature, issuer, audience, type and expiry; the claims, or why the token is refused. */
    async verify(token: string): Promise<{ ok: true; claims: TokenClaims } | { ok: false; reason: TokenFailure }> {
      if (token.length > 8192 || !/^[\w-]+\.[\w-]+\.[\w-]+$/.test(token)) return { ok: false, reason: 'malformed' };
      const known = verified.get(token);
      if (known && known.expiresAt > now()) return { ok: true, claims: known };
      verified.delete(token);
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(
          token,
          async (header) => {
            const key = await verifyKey(header.kid);
            if (!key) throw new joseErrors.JWKSNoMatchingKey();
            return key;
          },
          {
            issuer,
            audience: issuer,
            algorithms: ['EdDSA'],
            typ: TOKEN_TYPE,
            currentDate: new Date(now()),
            requiredClaims: ['exp', 'iat', 'jti', 'sub'],
          },
        ));
      } catch (err) {
        return { ok: false, reason: failureOf(err) };
      }
      // A token this fleet issued never lives longer than MAX_TOKEN_TTL_MS and is not issued in the future. One that
      // claims otherwise but carries a valid signature was signed by a key that left its server (a stolen database
      // or backup): refused, so that such a key mints nothing that outlives its own rotation and pruning.
      const iat = (payload.iat ?? 0) * 1000;
      if ((payload.exp ?? 0) * 1000 - iat > MAX_TOKEN_TTL_MS || iat > now() + TOKEN_CLOCK_SKEW_MS) {
        return { ok: false, reason: 'lifetime' };
      }
      const scopes = typeof payload.scope === 'string' ? payload.scope.split(' ') : [];
      const devices = payload.devices;
      if (
        !isRole(payload.role) ||
        !scopes.every(isScope) ||
        typeof payload.oid !== 'number' ||
        typeof payload.name !== 'string' ||
        (devices !== undefined && (!Array.isArray(devices) || !devices.every((d) => typeof d === 'string')))
      ) {
        return { ok: false, reason: 'malformed' };
      }
      const claims: TokenClaims = {
        operatorId: payload.oid,
        operator: payload.name,
        role: payload.role,
        scopes: scopes as Scope[],
        devices: (devices as string[] | undefined) ?? null,
        expiresAt: (payload.exp ?? 0) * 1000,
        jti: String(payload.jti),
      };
      if (verified.size >= VERIFIED_TOKENS) verified.delete(verified.keys().next().value!);
      verified.set(token, claims);
      return { ok: true, claims };
    },
  };
}

/** How many verified tokens are remembered (a few per active operator or client). */
const VERIFIED_TOKENS = 1024;

function failureOf(err: unknown): TokenFailure {
  if (err instanceof joseErrors.JWTExpired) return 'expired';
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return 'bad-signature';
  if (err instanceof joseErrors.JWKSNoMatchingKey) return 'unknown-key';
  if (err instanceof joseErrors.JWTClaimValidationFailed && (err.claim === 'iss' || err.claim === 'aud')) {
    return 'foreign-issuer';
  }
  return 'malformed';
}
