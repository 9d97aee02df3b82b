// Reads the client certificate a TLS connection presented (chain already verified by the TLS server).
import type { Client } from 'aedes';
import { peerSocket } from '../net/proxied-listener.js';
import { tlsSocketOf } from './guarded-connection.js';

export interface PeerIdentity {
  readonly cn: string;
  readonly serial: string;
  readonly fingerprint: string;
  readonly address: string | null;
}

export function peerIdentity(client: Client): PeerIdentity | undefined {
  const conn = tlsSocketOf(client);
  if (conn?.authorized !== true) return undefined;
  const cert = conn.getPeerCertificate();
  if (!cert?.subject) return undefined;
  const cn = cert.subject.CN;
  if (typeof cn !== 'string' || !cert.serialNumber) return undefined;
  return {
    cn,
    serial: cert.serialNumber.toLowerCase().replace(/^0+/, ''),
    fingerprint: cert.fingerprint256,
    address: peerSocket(conn).remoteAddress ?? null,
  };
}
