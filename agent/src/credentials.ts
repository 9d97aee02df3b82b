// The device's credentials: read from the configured files and checked once at start, so that a bad key or
// certificate stops the agent with a coded error instead of a connection that is refused for ever.
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
// Loaded before toLegacyObject() runs: on Node 20 that call requires _tls_common, and if `tls` is not loaded yet
// the circular load leaves it without createSecureContext, so every later TLS connection throws. The agent
// needs tls anyway; loading it first costs nothing.
import 'node:tls';
import { readRegularFile } from '../../shared/src/index.js';
import type { AgentConfig } from './config.js';
import { AgentError } from './errors.js';
import type { TlsCredentials } from './mqtt/connection.js';

/** Key, certificate and CA files are small; a CA bundle of a few hundred certificates still fits. */
const MAX_CREDENTIAL_BYTES = 1024 * 1024;

/** Where each credential came from, for the messages (file paths, or a label for injected PEM). */
export interface CredentialSources {
  readonly key: string;
  readonly cert: string;
  readonly ca: string;
}

/** OpenSSL's reason without its error-stack prefix ("error:1E08010C:DECODER routines::unsupported" → "unsupported"). */
function reason(err: unknown): string {
  const message = (err as Error)?.message ?? String(err);
  return message.replace(/^error:[0-9A-F]+:[^:]*:[^:]*:/, '').trim() || message;
}

function parseCertificate(
  pem: string | Buffer,
  what: string,
  source: string,
  code: 'AGENT_IDENTITY' | 'AGENT_CREDENTIALS',
) {
  try {
    return new X509Certificate(pem);
  } catch (err) {
    throw new AgentError(code, `the ${what} ${source} is not a PEM certificate (OpenSSL: ${reason(err)})`, {
      cause: err,
    });
  }
}

/**
 * Checks that the device can prove who it is before it tries: the key parses, it is the certificate's key, the
 * certificate's CN is `deviceId` (what the fleet server authorises on), the certificate is valid at `now`, and
 * the CA file holds a certificate. Throws AGENT_IDENTITY (AGENT_CREDENTIALS for the CA).
 */
export function checkDeviceIdentity(
  tls: TlsCredentials,
  deviceId: string,
  now: number,
  sources: CredentialSources = { key: '(injected)', cert: '(injected)', ca: '(injected)' },
): void {
  let key: KeyObject;
  try {
    key = createPrivateKey(tls.key);
  } catch (err) {
    throw new AgentError(
      'AGENT_IDENTITY',
      `the device key ${sources.key} is not a PEM private key without a passphrase (OpenSSL: ${reason(err)})`,
      { cause: err },
    );
  }
  const cert = parseCertificate(tls.cert, 'device certificate', sources.cert, 'AGENT_IDENTITY');
  parseCertificate(tls.ca, 'CA file', sources.ca, 'AGENT_CREDENTIALS');
  if (!cert.checkPrivateKey(key)) {
    throw new AgentError(
      'AGENT_IDENTITY',
      `the device key ${sources.key} is not the key of the certificate ${sources.cert}: the two belong to ` +
        'different devices or enrolments',
    );
  }
  // The fleet server authorises a client on its certificate's CN as Node parses it (getPeerCertificate), so the
  // same parse is used here; several CNs come back as an array, which never equals a device id.
  const cn: unknown = cert.toLegacyObject().subject?.CN;
  if (cn !== deviceId) {
    const subject = typeof cn === 'string' ? `CN=${cn}` : 'another name';
    throw new AgentError(
      'AGENT_IDENTITY',
      `the certificate ${sources.cert} is for ${subject}, but deviceId is ${deviceId}; the fleet server would ` +
        'refuse every connection ("Not authorized")',
    );
  }
  const notBefore = Date.parse(cert.validFrom);
  const notAfter = Date.parse(cert.validTo);
  if (!Number.isFinite(notBefore) || !Number.isFinite(notAfter)) {
    throw new AgentError('AGENT_IDENTITY', `the certificate ${sources.cert} has an unreadable validity period`);
  }
  const at = new Date(now).toISOString();
  if (now < notBefore) {
    throw new AgentError(
      'AGENT_IDENTITY',
      `the certificate ${sources.cert} is not valid before ${new Date(notBefore).toISOString()} and the clock ` +
        `says ${at}: check this device's clock`,
    );
  }
  if (now > notAfter) {
    throw new AgentError(
      'AGENT_IDENTITY',
      `the certificate ${sources.cert} expired on ${new Date(notAfter).toISOString()} (now ${at}): renew it ` +
        `(fleet device renew ${deviceId}) or enrol the device again`,
    );
  }
}

/** Reads the key, certificate and CA named in the config (regular files only) and checks them. */
export function loadCredentials(config: AgentConfig, now: number): TlsCredentials {
  const read = (what: string, path: string) => {
    try {
      return readRegularFile(path, { maxBytes: MAX_CREDENTIAL_BYTES });
    } catch (err) {
      throw new AgentError('AGENT_CREDENTIALS', `cannot read the device ${what}: ${(err as Error).message}`, {
        cause: err,
      });
    }
  };
  const tls = { key: read('key', config.key), cert: read('certificate', config.cert), ca: read('CA', config.ca) };
  checkDeviceIdentity(tls, config.deviceId, now, { key: config.key, cert: config.cert, ca: config.ca });
  return tls;
}
