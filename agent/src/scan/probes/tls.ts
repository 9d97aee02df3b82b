// TLS fingerprint: a handshake that accepts anything (to inspect it), the certificate's facts, and whether the
// deprecated TLS 1.0/1.1 (RFC 8996) still complete.
import { X509Certificate } from 'node:crypto';
import { budget, tlsDial, type ProbeContext } from '../net/conn.js';
import type { CertFacts, ProbeTarget, TlsFacts } from '../types.js';

const CURVE_BITS: Record<string, number> = {
  prime192v1: 192,
  secp192r1: 192,
  secp224r1: 224,
  prime256v1: 256,
  secp256k1: 256,
  secp384r1: 384,
  secp521r1: 521,
  brainpoolP256r1: 256,
  brainpoolP384r1: 384,
  brainpoolP512r1: 512,
};

export function certFacts(raw: Buffer): CertFacts | undefined {
  try {
    const x = new X509Certificate(raw);
    const key = x.publicKey;
    const details = key.asymmetricKeyDetails ?? {};
    const type = key.asymmetricKeyType ?? 'unknown';
    const curve = details.namedCurve;
    const keyBits =
      details.modulusLength ??
      (curve ? (CURVE_BITS[curve] ?? 0) : type === 'ed25519' ? 256 : type === 'ed448' ? 448 : 0);
    let selfSigned = false;
    try {
      selfSigned = x.checkIssued(x) && x.verify(key);
    } catch {
      selfSigned = false;
    }
    const oneLine = (dn: string) => dn.split('\n').filter(Boolean).join(', ').slice(0, 200);
    return {
      subject: oneLine(x.subject),
      issuer: oneLine(x.issuer),
      selfSigned,
      notBefore: Date.parse(x.validFrom),
      notAfter: Date.parse(x.validTo),
      keyType: type,
      keyBits,
      ...(curve ? { curve } : {}),
      fingerprint256: x.fingerprint256,
    };
  } catch {
    return undefined;
  }
}

export type TlsHandshake =
  | { readonly isTls: false; readonly error: string }
  | { readonly isTls: true; readonly facts: TlsFacts; readonly completed: boolean };

/** An OpenSSL alert from the peer means it speaks TLS, even when it refuses this client. */
function isPeerAlert(code: string): boolean {
  return (
    /^ERR_SSL_(SSLV3|TLSV1|TLSV13)_ALERT_/.test(code) ||
    code === 'ERR_SSL_UNSUPPORTED_PROTOCOL' ||
    code === 'ERR_SSL_NO_PROTOCOLS_AVAILABLE'
  );
}

export async function tlsHandshake(ctx: ProbeContext, target: ProbeTarget): Promise<TlsHandshake> {
  let conn: Awaited<ReturnType<ReturnType<typeof tlsDial>>>;
  try {
    conn = await tlsDial(ctx, target)();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    if (!isPeerAlert(code)) return { isTls: false, error: code };
    const facts: TlsFacts = {
      version: 'unknown',
      cipher: 'none',
      legacy: [],
      clientCertRequired: /CERTIFICATE_REQUIRED/.test(code),
    };
    return { isTls: true, facts, completed: false };
  }
  try {
    const s = conn.tls;
    const raw = s.getPeerCertificate(false)?.raw;
    const cert = raw ? certFacts(raw) : undefined;
    const version = s.getProtocol() ?? 'unknown';
    const cipher = s.getCipher()?.name ?? 'unknown';
    // TLS 1.3 servers that require a client certificate say so with an alert just after the handshake.
    await conn.waitFor(() => false, budget(ctx, ctx.idleMs));
    const clientCertRequired = /CERTIFICATE_REQUIRED|HANDSHAKE_FAILURE/.test(conn.error ?? '');
    return {
      isTls: true,
      completed: true,
      facts: { version, cipher, ...(cert ? { cert } : {}), legacy: [], clientCertRequired },
    };
  } finally {
    conn.close();
  }
}

/** Tries TLS 1.0 and 1.1 alone (OpenSSL security level 0, so this client can offer them). */
export async function legacyVersions(ctx: ProbeContext, target: ProbeTarget): Promise<TlsFacts['legacy']> {
  const versions = ['TLSv1', 'TLSv1.1'] as const;
  const results = await Promise.all(
    versions.map(async (version) => {
      try {
        const conn = await tlsDial(ctx, target, {
          minVersion: version,
          maxVersion: version,
          ciphers: 'DEFAULT@SECLEVEL=0',
        })();
        const cipher = conn.tls.getCipher()?.name ?? 'unknown';
        const negotiated = conn.tls.getProtocol();
        conn.close();
        return negotiated === version ? { version, cipher } : undefined;
      } catch {
        return undefined;
      }
    }),
  );
  return results.filter((r): r is { version: (typeof versions)[number]; cipher: string } => r !== undefined);
}
