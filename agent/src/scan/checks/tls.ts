// tls.* checks: deprecated protocol versions, self-signed, expired and small-key certificates.
import type { Finding, ServiceObservation } from '../types.js';
import { finding, where } from './finding.js';

const iso = (ms: number) => (Number.isFinite(ms) ? new Date(ms).toISOString().replace('.000Z', 'Z') : 'unknown');

export function tlsChecks(obs: ServiceObservation, now: number): Finding[] {
  const t = obs.tls;
  if (!t) return [];
  const out: Finding[] = [];
  const at = where(obs.target);
  const sClient = (flags: string) => `\`openssl s_client -connect ${at} ${flags}</dev/null\``;
  if (t.legacy.length > 0) {
    const list = t.legacy.map((l) => `${l.version === 'TLSv1' ? 'TLS 1.0' : 'TLS 1.1'} (${l.cipher})`).join(' and ');
    const flag = t.legacy[0]!.version === 'TLSv1' ? '-tls1' : '-tls1_1';
    out.push(
      finding(
        'tls.weak-protocol',
        obs.target,
        `${at} completed handshakes limited to ${list}; check with ${sClient(`${flag} -cipher DEFAULT@SECLEVEL=0 `)}`,
      ),
    );
  }
  const c = t.cert;
  if (!c) return out;
  const show =
    `\`openssl s_client -connect ${at} </dev/null 2>/dev/null | openssl x509 -noout -subject ` +
    `-issuer -dates -text\``;
  if (c.selfSigned) {
    out.push(
      finding(
        'tls.self-signed',
        obs.target,
        `The certificate on ${at} (subject ${c.subject}, SHA-256 ${c.fingerprint256.slice(0, 23)}…) is issued by ` +
          `itself and verifies with its own key; check with ${show}`,
      ),
    );
  }
  if (now > c.notAfter || now < c.notBefore) {
    const why = now > c.notAfter ? `expired at ${iso(c.notAfter)}` : `is not valid before ${iso(c.notBefore)}`;
    out.push(
      finding(
        'tls.expired',
        obs.target,
        `The certificate on ${at} (subject ${c.subject}) ${why}; the scan ran at ${iso(now)}; check with ${show}`,
      ),
    );
  }
  const rsaLike = c.keyType === 'rsa' || c.keyType === 'rsa-pss' || c.keyType === 'dsa';
  if (c.keyBits > 0 && ((rsaLike && c.keyBits < 2048) || (c.keyType === 'ec' && c.keyBits < 256))) {
    const what =
      c.keyType === 'ec'
        ? `an EC key on ${c.curve ?? 'a'} ${c.keyBits}-bit curve`
        : `a ${c.keyBits}-bit ${c.keyType.toUpperCase()} key`;
    out.push(
      finding(
        'tls.weak-key',
        obs.target,
        `The certificate on ${at} (subject ${c.subject}) has ${what}; check with ${show}`,
      ),
    );
  }
  return out;
}
