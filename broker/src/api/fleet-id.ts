// The fleet's name in tokens and proofs of possession (issuer and audience): derived from its CA certificate, so
// a client that trusts the CA knows it, and a token or proof made for one fleet is worthless at another.
import { createHash, X509Certificate } from 'node:crypto';

export function fleetIdOf(caPem: string | Buffer): string {
  const der = new X509Certificate(caPem).raw;
  return `urn:edgeward:fleet:${createHash('sha256').update(der).digest('hex').slice(0, 32)}`;
}
