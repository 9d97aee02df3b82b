// Enrolment: a device with a one-time token sends a CSR for a key it made itself and gets its certificate.
// The private key never leaves the device; the token is burned; every outcome is audited.
import { isValidDeviceId, parseSealPublicKeyPem, sealPublicKeyToPem, type Logger } from '../../../shared/src/index.js';
import type { FleetConfig } from '../config.js';
import type { AuditLog } from '../db/audit.js';
import { TOKEN_PATTERN } from '../db/tokens.js';
import type { FleetStore } from '../store/types.js';
import { TokenBucket } from '../limits/token-bucket.js';
import type { FleetMetrics } from '../metrics/fleet-metrics.js';
import { certificateFacts, issueDeviceCert, parseCsr, type x509, type CaBundle } from '../pki/x509.js';

export interface EnrollRequest {
  readonly token: unknown;
  readonly id: unknown;
  readonly csr: unknown;
  /** The device's X25519 sealing public key (SPKI PEM); optional for agents older than sealing. */
  readonly sealKey?: unknown;
  readonly address: string;
}

export type EnrollResult =
  | { ok: true; deviceId: string; certificate: string; ca: string; sealKey?: string }
  | { ok: false; status: number; reason: string; message: string };

export type Enrollment = ReturnType<typeof createEnrollment>;

export interface EnrollmentDeps {
  /**
   * Where the devices are registered and the tokens kept: the server's database (createSqliteStore) or, on a
   * cluster, the store every node shares, so a token made through any node enrols through any other.
   */
  readonly records: Pick<FleetStore, 'registry' | 'enrollTokens'>;
  readonly audit: Pick<AuditLog, 'record'>;
  readonly ca: CaBundle;
  readonly config: FleetConfig;
  readonly log: Logger;
  readonly metrics: FleetMetrics;
  readonly now?: () => number;
}

const MAX_CSR = 8192;

export function createEnrollment(deps: EnrollmentDeps) {
  const now = deps.now ?? Date.now;
  const { registry, enrollTokens: tokens } = deps.records;
  const failures = new Map<string, TokenBucket>();
  const perMinute = deps.config.enrollment.failuresPerMinutePerAddress;

  function bucket(address: string): TokenBucket {
    let b = failures.get(address);
    if (!b) {
      if (failures.size > 10_000) for (const [a, x] of failures) if (x.idle(now())) failures.delete(a);
      b = new TokenBucket(perMinute / 60, perMinute, now());
      failures.set(address, b);
    }
    return b;
  }

  function fail(
    address: string,
    deviceId: string | null,
    status: number,
    reason: string,
    message: string,
  ): EnrollResult {
    bucket(address).take(1, now());
    deps.audit.record({ event: 'enroll.denied', deviceId, address, detail: { reason } });
    deps.log.warn('enrolment refused', { deviceId, address, reason });
    deps.metrics.enrollments.inc({ outcome: reason });
    deps.metrics.denials.inc({ kind: 'enroll', reason });
    return { ok: false, status, reason, message };
  }

  return {
    async enroll(req: EnrollRequest): Promise<EnrollResult> {
      const { address } = req;
      // A source address that keeps failing is refused before anything else is looked at.
      if (bucket(address).available(now()) < 1) {
        deps.audit.record({ event: 'enroll.denied', address, detail: { reason: 'rate-limited' } });
        deps.metrics.enrollments.inc({ outcome: 'rate-limited' });
        deps.metrics.denials.inc({ kind: 'enroll', reason: 'rate-limited' });
        return {
          ok: false,
          status: 429,
          reason: 'rate-limited',
          message: 'too many failed enrolment attempts from this address; wait a minute',
        };
      }
      const id = typeof req.id === 'string' && isValidDeviceId(req.id) ? req.id : null;
      if (!id) return fail(address, null, 400, 'invalid-device-id', 'id must match ^[a-z0-9][a-z0-9-]{2,63}$');
      if (typeof req.token !== 'string' || !TOKEN_PATTERN.test(req.token))
        return fail(address, id, 401, 'token-invalid', 'the enrolment token is not valid');
      if (typeof req.csr !== 'string' || req.csr.length > MAX_CSR)
        return fail(address, id, 400, 'csr-invalid', 'csr must be a PEM certificate signing request');

      let csr: x509.Pkcs10CertificateRequest;
      try {
        csr = parseCsr(req.csr);
        if (!(await csr.verify())) return fail(address, id, 400, 'csr-invalid', 'the CSR signature does not verify');
      } catch {
        return fail(address, id, 400, 'csr-invalid', 'csr must be a PEM certificate signing request');
      }
      const alg = csr.publicKey.algorithm as { name?: string; namedCurve?: string };
      if (alg.name !== 'ECDSA' || alg.namedCurve !== 'P-256')
        return fail(address, id, 400, 'csr-key-type', 'the CSR key must be ECDSA P-256');
      const cn = csr.subjectName.getField('CN');
      if (cn.length !== 1 || cn[0] !== id)
        return fail(address, id, 400, 'csr-cn-mismatch', `the CSR subject CN must be exactly ${id}`);
      let sealKey: Uint8Array | undefined;
      if (req.sealKey !== undefined) {
        try {
          if (typeof req.sealKey !== 'string') throw new Error('not a string');
          sealKey = parseSealPublicKeyPem(req.sealKey, 'sealKey');
        } catch {
          return fail(address, id, 400, 'seal-key-invalid', 'sealKey must be an X25519 public key in SPKI PEM');
        }
      }
      if (await registry.exists(id))
        return fail(address, id, 409, 'device-exists', `device ${id} is already registered`);

      const claim = await tokens.claim(req.token, id, now());
      if (!claim.ok)
        return fail(
          address,
          id,
          401,
          claim.reason,
          claim.reason === 'token-expired'
            ? 'the enrolment token has expired'
            : claim.reason === 'token-used'
              ? 'the enrolment token was already used'
              : 'the enrolment token is not valid',
        );

      const cert = await issueDeviceCert(deps.ca, id, csr.publicKey, deps.config.enrollment.deviceValidityDays);
      const certPem = cert.toString('pem');
      try {
        await registry.addDevice(id, claim.deviceType, certificateFacts(certPem), now(), sealKey);
      } catch (err) {
        // Lost a race with another enrolment of the same id: the token is spent, the device is not ours.
        if ((err as { code?: string }).code === 'FLEET_STORE_CONSTRAINT')
          return fail(address, id, 409, 'device-exists', `device ${id} is already registered`);
        throw err;
      }
      deps.audit.record({
        event: 'enroll.succeeded',
        deviceId: id,
        address,
        detail: { deviceType: claim.deviceType, serial: certificateFacts(certPem).serial },
      });
      deps.log.info('device enrolled', { deviceId: id, address, deviceType: claim.deviceType });
      deps.metrics.enrollments.inc({ outcome: 'succeeded' });
      const backendKey = deps.ca.sealPublicKey;
      return {
        ok: true,
        deviceId: id,
        certificate: certPem,
        ca: deps.ca.cert.toString('pem'),
        ...(backendKey ? { sealKey: sealPublicKeyToPem(backendKey) } : {}),
      };
    },
  };
}
