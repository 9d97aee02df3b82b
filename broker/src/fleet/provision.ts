// Issuing device identities from the fleet CA: key + certificate written for the device, registered in the registry.
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { assertDeviceId } from '../../../shared/src/index.js';
import { FleetError } from '../errors.js';
import type { Db } from '../db/open.js';
import type { Registry } from '../db/registry.js';
import { createDeviceKeyStore } from './seal-keys.js';
import {
  BACKEND_KEY_FILE,
  ensurePrivateDir,
  generateSealKeyPair,
  SEAL_KEY_FILE,
  sealPublicKeyToPem,
  sealSecretKeyToPem,
  writeFileSafe,
  writeSecret,
} from '../../../shared/src/index.js';
import {
  certificateFacts,
  generateKeyPair,
  issueDeviceCert,
  parseCsr,
  privateKeyPem,
  type CaBundle,
} from '../pki/x509.js';

// Defined with the config, whose enrolment default they also are; the CLI and the API import them from here.
import { DEFAULT_DEVICE_VALIDITY_DAYS, MAX_DEVICE_VALIDITY_DAYS } from '../config.js';

export { DEFAULT_DEVICE_VALIDITY_DAYS, MAX_DEVICE_VALIDITY_DAYS };

export interface ProvisionOptions {
  readonly deviceType?: string;
  readonly validityDays?: number;
  readonly overwrite?: boolean;
}

export interface DeviceFiles {
  readonly key: string;
  readonly cert: string;
  readonly ca: string;
  /** The device's X25519 sealing key (0600) and the backend's sealing public key, when the CA bundle has one. */
  readonly sealKey?: string;
  readonly backendKey?: string;
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
  const keyPem = await privateKeyPem(keys.privateKey);
  // The sealing key is made here like the TLS key: `fleet device add` writes a device's whole identity, which the
  // operator then installs on it (enrolment makes both keys on the device instead).
  const seal = ca.sealPublicKey && generateSealKeyPair();
  const sealFiles = seal && { sealKey: join(outDir, SEAL_KEY_FILE), backendKey: join(outDir, BACKEND_KEY_FILE) };
  ensurePrivateDir(outDir);
  // Files first, registry last: a failure never leaves a registered device without its credentials, nor
  // credentials of a device that was not registered.
  const paths = [files.key, files.cert, files.ca, ...(sealFiles ? [sealFiles.sealKey, sealFiles.backendKey] : [])];
  allOrNothing(paths, () => {
    writeSecret(files.key, keyPem, opts.overwrite ?? false);
    writeFileSafe(files.cert, certPem, { overwrite: opts.overwrite ?? false });
    writeFileSafe(files.ca, ca.cert.toString('pem'), { overwrite: true });
    if (seal && sealFiles && ca.sealPublicKey) {
      writeSecret(sealFiles.sealKey, sealSecretKeyToPem(seal), opts.overwrite ?? false);
      writeFileSafe(sealFiles.backendKey, sealPublicKeyToPem(ca.sealPublicKey), { overwrite: true });
    }
    registry.addDevice(id, opts.deviceType ?? 'default', certificateFacts(certPem), Date.now(), seal?.publicKey);
  });
  return { ...files, ...sealFiles };
}

/**
 * Runs `write`; when it fails, removes those of `paths` that did not exist before, so that a retry does not meet a
 * key without its certificate (files it replaced are gone either way: the caller asked to overwrite them).
 */
function allOrNothing(paths: readonly string[], write: () => void): void {
  const created = paths.filter((path) => !existsSync(path));
  try {
    write();
  } catch (err) {
    for (const path of created) rmSync(path, { force: true });
    throw err;
  }
}

/**
 * A device's CSR, checked: it must parse, verify (proof of possession) and name the device as its CN;
 * FLEET_PKI_INVALID saying what to give instead otherwise (the CLI checks a --csr file with it before sending it).
 */
export async function checkDeviceCsr(csrPem: string, id: string): Promise<ReturnType<typeof parseCsr>> {
  const hint = `give the CSR the device made for its key (e.g. \`openssl req -new -key device.key -subj /CN=${id}\`)`;
  let csr: ReturnType<typeof parseCsr>;
  let verified: boolean;
  try {
    csr = parseCsr(csrPem);
    verified = await csr.verify();
  } catch (err) {
    // The parser's own words ("Unsupported format of 'raw' argument") stay in details, for EDGEWARD_DEBUG.
    throw new FleetError('FLEET_PKI_INVALID', `the CSR is not a PEM certificate signing request (PKCS#10); ${hint}`, {
      cause: err,
      details: { parser: (err as Error).message },
    });
  }
  if (!verified) throw new FleetError('FLEET_PKI_INVALID', `the CSR's signature does not verify; ${hint}`);
  const cn = csr.subjectName.getField('CN')[0];
  if (cn !== id) {
    throw new FleetError('FLEET_PKI_INVALID', `the CSR is for CN=${cn ?? '(none)'}, not for device ${id}; ${hint}`);
  }
  return csr;
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
  // An empty CSR file is a bad CSR, not "no CSR": a key made here would be thrown away without --out.
  if (opts.csrPem !== undefined) {
    publicKey = (await checkDeviceCsr(opts.csrPem, id)).publicKey;
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
  const record = () => {
    if (opts.revokeOld) registry.revokeCertificates(id);
    registry.addCertificate(id, facts);
  };
  if (out) {
    ensurePrivateDir(out);
    allOrNothing([join(out, 'device.key'), join(out, 'device.crt'), join(out, 'ca.crt')], () => {
      if (keyPem) writeSecret(join(out, 'device.key'), keyPem, true);
      writeFileSafe(join(out, 'device.crt'), certPem, { overwrite: true });
      writeFileSafe(join(out, 'ca.crt'), ca.cert.toString('pem'), { overwrite: true });
      record();
    });
  } else {
    record();
    process.stdout.write(certPem);
  }
  return { ...files, serial: facts.serial, notAfter: new Date(facts.notAfter).toISOString() };
}

/**
 * Makes a new sealing key for a registered device into outDir (seal.key, 0600, and backend-seal.pub) and registers
 * it as the device's newest key; its earlier keys stay registered (a rotation), so messages in flight still open.
 */
export function rekeySealing(db: Db, ca: CaBundle, id: string, outDir: string): void {
  if (!ca.sealPublicKey) throw new FleetError('FLEET_PKI_INVALID', 'the fleet has no sealing key (pki/seal.key)');
  const seal = generateSealKeyPair();
  ensurePrivateDir(outDir);
  writeSecret(join(outDir, SEAL_KEY_FILE), sealSecretKeyToPem(seal), true);
  writeFileSafe(join(outDir, BACKEND_KEY_FILE), sealPublicKeyToPem(ca.sealPublicKey), { overwrite: true });
  createDeviceKeyStore(db).add(id, seal.publicKey);
}
