// Issuing device identities from the fleet CA: key + certificate written for the device, registered in the registry.
import { join } from 'node:path';
import { assertDeviceId } from '../../../shared/src/index.js';
import { FleetError } from '../errors.js';
import type { Registry } from '../db/registry.js';
import { ensurePrivateDir, writeFileSafe, writeSecret } from '../pki/files.js';
import { certificateFacts, generateKeyPair, issueDeviceCert, privateKeyPem, type CaBundle } from '../pki/x509.js';

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

/** Makes a key pair and certificate for `id`, registers it, and writes device.key (0600), device.crt and ca.crt to outDir. */
export async function provisionDevice(registry: Registry, ca: CaBundle, id: string, outDir: string, opts: ProvisionOptions = {}): Promise<DeviceFiles> {
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
