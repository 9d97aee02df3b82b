// Issuing device identities from the fleet CA: key + certificate written for the device, registered in the registry.
import { join } from 'node:path';
import { assertDeviceId } from '../../../shared/src/index.js';
import { FleetError } from '../errors.js';
import type { Registry } from '../db/registry.js';
import { ensurePrivateDir, writeFileSafe, writeSecret } from '../../../shared/src/index.js';
import {
  certificateFacts,
  generateKeyPair,
  issueDeviceCert,
  parseCsr,
  privateKeyPem,
  type CaBundle,
} from '../pki/x509.js';

export const DEFAULT_DEVICE_VALIDITY_DAYS = 365;

export interface ProvisionOptions {
  readonly deviceType?: string;
  readonly validityDays?: number;
  readonly overwrite?: boolean;
}

export interface DeviceFiles {
  readonly key: string;
  readonly cert: string;
  readonly ca: string;
}

/**
 * Makes a key pair and certificate for `id`, registers it, and writes device.key (0600), device.crt and ca.crt to
 * outDir.
 */
export async function provisionDevice(
  registry: Registry,
  ca: CaBundle,
  id: string,
  outDir: string,
  opts: ProvisionOptions = {},
): Promise<DeviceFiles> {
  assertDeviceId(id);
  if (registry.exists(id)) throw new FleetError('FLEET_DEVICE_EXISTS', `device ${id} is already registered`);
  const keys = await generateKeyPair();
  const cert = await issueDeviceCert(ca, id, keys.publicKey, opts.validityDays ?? DEFAULT_DEVICE_VALIDITY_DAYS);
  const certPem = cert.toString('pem');
  const files = { key: join(outDir, 'device.key'), cert: join(outDir, 'device.crt'), ca: join(outDir, 'ca.crt') };
  ensurePrivateDir(outDir);
  // Files first, registry last: a failure never leaves a registered device without its credentials.
  writeSecret(files.key, await privateKeyPem(keys.privateKey), opts.overwrite ?? false);
  writeFileSafe(files.cert, certPem, { overwrite: opts.overwrite ?? false });
  writeFileSafe(files.ca, ca.cert.toString('pem'), { overwrite: true });
  registry.addDevice(id, opts.deviceType ?? 'default', certificateFacts(certPem));
  return files;
}

export interface RenewOptions {
  readonly validityDays?: number;
  /** Sign this CSR (made on the device) instead of making a new key. */
  readonly csrPem?: string;
  /** Where to write device.crt (and device.key when a key is made). */
  readonly outDir?: string;
  /** Revoke the device's earlier certificates at once instead of letting them expire. */
  readonly revokeOld?: boolean;
}

/** Re-issues a certificate for a registered, active device. */
export async function renewDevice(registry: Registry, ca: CaBundle, id: string, opts: RenewOptions) {
  const device = registry.get(id);
  if (!device) throw new FleetError('FLEET_DEVICE_UNKNOWN', `no device ${id} is registered`);
  if (device.status !== 'active')
    throw new FleetError('FLEET_DEVICE_REVOKED', `device ${id} is revoked; enrol it again under a new id instead`);
  let publicKey: Parameters<typeof issueDeviceCert>[2];
  let keyPem: string | undefined;
  if (opts.csrPem) {
    const csr = parseCsr(opts.csrPem);
    if (!(await csr.verify()) || csr.subjectName.getField('CN')[0] !== id) {
      throw new FleetError('FLEET_PKI_INVALID', `the CSR does not verify or its CN is not ${id}`);
    }
    publicKey = csr.publicKey;
  } else {
    const keys = await generateKeyPair();
    publicKey = keys.publicKey;
    keyPem = await privateKeyPem(keys.privateKey);
  }
  const cert = await issueDeviceCert(ca, id, publicKey, opts.validityDays ?? DEFAULT_DEVICE_VALIDITY_DAYS);
  const certPem = cert.toString('pem');
  const facts = certificateFacts(certPem);
  const out = opts.outDir;
  const files = out
    ? { cert: join(out, 'device.crt'), key: keyPem ? join(out, 'device.key') : undefined }
    : { cert: '(stdout)', key: undefined };
  if (out) {
    ensurePrivateDir(out);
    if (keyPem) writeSecret(join(out, 'device.key'), keyPem, true);
    writeFileSafe(join(out, 'device.crt'), certPem, { overwrite: true });
    writeFileSafe(join(out, 'ca.crt'), ca.cert.toString('pem'), { overwrite: true });
  } else {
    process.stdout.write(certPem);
  }
  if (opts.revokeOld) registry.revokeCertificates(id);
  registry.addCertificate(id, facts);
  return { ...files, serial: facts.serial, notAfter: new Date(facts.notAfter).toISOString() };
}
