// fleet device add | renew | revoke | list: the device registry from the command line, on the server host's data
// folder or through the operator API. Device keys are made on the machine that runs the command; only their CSRs
// travel.
import { join } from 'node:path';
import {
  createProgress,
  deviceIdArg,
  dispatch,
  generateSealKeyPair,
  isValidDeviceId,
  parseCli,
  parsePositiveInt,
  required,
  sealPublicKeyToPem,
  sealSecretKeyToPem,
  UsageError,
} from '../../../shared/src/index.js';
import { createCsr, generateKeyPair, privateKeyPem } from '../../../shared/src/x509.js';
import type { FleetAdmin, IssuedCertificate } from '../admin/types.js';
import { checkDeviceCsr, DEFAULT_DEVICE_VALIDITY_DAYS, MAX_DEVICE_VALIDITY_DAYS } from '../fleet/provision.js';
import { stageDeviceFiles } from './device-files.js';
import { readInputText, requireOutputFolder, withHint } from './file-args.js';
import { renderTable } from './table.js';
import { openAdmin, TARGET_HELP, TARGET_OPTIONS } from './target.js';
import { parseValidityDays } from './validity-days.js';

/** What to do when the --out folder cannot be used or written. */
const OUT_HINT = "give --out a folder on a writable disk for the device's key and certificates (created if absent)";

/** Ids in one --bulk run: the ids and their progress stay small in memory. */
const MAX_BULK = 1_000_000;

/** Devices per request when listing. */
const LIST_PAGE = 1000;

const HELP = `fleet device <command>   (each takes --data DIR or --server URL --ca FILE --credential FILE)

  fleet device add ID --out DIR2 [--type T] [--days 365] [--force]
      Makes a key for device ID on this machine, registers the device for it and writes DIR2/device.key (0600),
      DIR2/device.crt and DIR2/ca.crt. Only the certificate request leaves this machine.
  fleet device add --bulk N --prefix P --out DIR2 [--type T] [--days 365]
      Registers P00001 … PN (skipping ids that exist) and writes DIR2/<id>/device.{key,crt} and ca.crt.
  fleet device renew ID --out DIR2 [--csr FILE [--seal-key FILE]] [--days 365] [--revoke-old]
      Re-issues the device certificate before it expires: for a CSR the device made (--csr; the certificate
      goes to DIR2, or to stdout without --out), or with a new key made here and written to DIR2. Older
      certificates stay valid until they expire unless --revoke-old.
      Rotates the sealing key too: without --csr a new one is made into DIR2 (seal.key, backend-seal.pub);
      with --csr, --seal-key names the public key the device made. The backend seals to the new key once the
      device uses it; --revoke-old also retires the older sealing keys (they open nothing any more).
  fleet device revoke ID
      Revokes the device and its certificates; a running fleet server drops it within a second.
  fleet device list [--json]
      Lists devices: id, status, online, last seen, samples stored, certificate expiry.

${TARGET_HELP}`;

function idArg(positionals: string[]): string {
  const id = positionals[0];
  if (!id) throw new UsageError(`a device id is required\n\n${HELP}`);
  return deviceIdArg(id);
}

export function deviceCommand(argv: string[]): Promise<number> {
  return dispatch(argv, { add, renew, revoke, list }, HELP);
}

/**
 * A P-256 key made here, its PEM, and a CSR for it naming the device; and the device's X25519 sealing key (its
 * PEM, and the public half registered with the device).
 */
async function newDeviceKey(id: string): Promise<{ keyPem: string; csr: string; sealKeyPem: string; sealKey: string }> {
  const keys = await generateKeyPair();
  const seal = generateSealKeyPair();
  return {
    keyPem: await privateKeyPem(keys.privateKey),
    csr: await createCsr(id, keys),
    sealKeyPem: sealSecretKeyToPem(seal),
    sealKey: sealPublicKeyToPem(seal.publicKey),
  };
}

/**
 * Registers (or renews) through `register` with the files staged first: a disk that cannot take them refuses
 * before anything is registered, and a refusal by the fleet leaves no file behind.
 */
async function withStagedFiles(
  out: string,
  keys: { keyPem?: string; sealKeyPem?: string },
  overwrite: boolean,
  register: () => Promise<IssuedCertificate>,
) {
  let staged: ReturnType<typeof stageDeviceFiles>;
  try {
    staged = stageDeviceFiles(out, { ...keys, overwrite });
  } catch (err) {
    throw withHint(err, OUT_HINT);
  }
  let issued: IssuedCertificate;
  try {
    issued = await register();
  } catch (err) {
    staged.abort();
    throw err;
  }
  try {
    return { files: staged.commit(issued.certificate, issued.ca, issued.backendSealKey), issued };
  } catch (err) {
    throw withHint(
      err,
      `${OUT_HINT}; device ${issued.deviceId} is registered for a key that is now lost: ` +
        `fleet device renew ${issued.deviceId} --out DIR2 gives it a new one`,
    );
  }
}

async function add(argv: string[]): Promise<number> {
  const { values, positionals } = parseCli(
    argv,
    {
      ...TARGET_OPTIONS,
      out: { type: 'string' },
      type: { type: 'string' },
      days: { type: 'string' },
      force: { type: 'boolean' },
      bulk: { type: 'string' },
      prefix: { type: 'string' },
    },
    HELP,
  );
  const out = required(values.out, '--out');
  const days = parseValidityDays(values.days, '--days', DEFAULT_DEVICE_VALIDITY_DAYS, MAX_DEVICE_VALIDITY_DAYS);
  if (values.bulk !== undefined) {
    if (positionals.length > 0) throw new UsageError('give either an ID or --bulk N, not both');
    const count = parsePositiveInt(values.bulk, '--bulk', undefined, MAX_BULK);
    const prefix = required(values.prefix, '--prefix');
    requireOutputFolder(out, '--out', OUT_HINT);
    const admin = openAdmin(values);
    try {
      return await addBulk(admin, out, count, prefix, values.type, days);
    } finally {
      admin.close();
    }
  }
  const id = idArg(positionals);
  requireOutputFolder(out, '--out', OUT_HINT);
  const admin = openAdmin(values);
  try {
    const { keyPem, csr, sealKeyPem, sealKey } = await newDeviceKey(id);
    const { files } = await withStagedFiles(out, { keyPem, sealKeyPem }, values.force === true, () =>
      admin.devices.add({ id, csr, validityDays: days, sealKey, ...(values.type ? { type: values.type } : {}) }),
    );
    process.stdout.write(
      `device ${id} registered\n  key          ${files.key}  (mode 0600; keep it on the device)\n  certificate  ` +
        `${files.cert}\n  CA           ${files.ca}\n  sealing key  ${files.sealKey}  (mode 0600; keep it on the ` +
        `device)\n  backend key  ${files.backendKey}\n`,
    );
    return 0;
  } finally {
    admin.close();
  }
}

/** Which of the ids between `first` and `last` (in id order) are registered: one listing, a page at a time. */
async function registeredBetween(admin: FleetAdmin, first: string, last: string, prefix: string): Promise<Set<string>> {
  const found = new Set<string>();
  // Every id of the run starts with the prefix, so it sorts after it: the listing starts there.
  let cursor: string | null = prefix || null;
  do {
    const page = await admin.devices.list({ limit: LIST_PAGE, ...(cursor ? { cursor } : {}) });
    for (const d of page.items) if (d.id >= first && d.id <= last) found.add(d.id);
    cursor = page.next;
    if (page.items.length && page.items.at(-1)!.id >= last) break;
  } while (cursor);
  return found;
}

/** Issues many identities at once (simulator fleets, load tests); existing ids are kept, so a rerun is instant. */
async function addBulk(
  admin: FleetAdmin,
  out: string,
  count: number,
  prefix: string,
  type: string | undefined,
  days: number,
): Promise<number> {
  const width = Math.max(5, String(count).length);
  const ids = Array.from({ length: count }, (_, i) => `${prefix}${String(i + 1).padStart(width, '0')}`);
  const bad = ids.find((id) => !isValidDeviceId(id));
  if (bad) throw new UsageError(`--prefix ${JSON.stringify(prefix)} gives invalid device ids such as ${bad}`);
  const registered = await registeredBetween(admin, ids[0]!, ids.at(-1)!, prefix);
  const progress = createProgress('issuing', count);
  let made = 0;
  for (const [i, id] of ids.entries()) {
    if (!registered.has(id)) {
      const { keyPem, csr, sealKeyPem, sealKey } = await newDeviceKey(id);
      await withStagedFiles(join(out, id), { keyPem, sealKeyPem }, true, () =>
        admin.devices.add({ id, csr, validityDays: days, sealKey, ...(type ? { type } : {}) }),
      );
      made++;
    }
    progress.update(i + 1);
  }
  progress.finish();
  process.stdout.write(`${made} devices issued, ${count - made} already registered; credentials in ${out}/<id>/\n`);
  return 0;
}

async function renew(argv: string[]): Promise<number> {
  const { values, positionals } = parseCli(
    argv,
    {
      ...TARGET_OPTIONS,
      out: { type: 'string' },
      csr: { type: 'string' },
      'seal-key': { type: 'string' },
      days: { type: 'string' },
      'revoke-old': { type: 'boolean' },
    },
    HELP,
  );
  const id = idArg(positionals);
  if (values['seal-key'] !== undefined && values.csr === undefined)
    throw new UsageError('--seal-key goes with --csr (without --csr a new sealing key is made here)');
  const sealPem =
    values['seal-key'] === undefined
      ? undefined
      : readInputText(values['seal-key'], "give --seal-key the device's new X25519 sealing public key (PEM)");
  const days = parseValidityDays(values.days, '--days', DEFAULT_DEVICE_VALIDITY_DAYS, MAX_DEVICE_VALIDITY_DAYS);
  const outDir = values.csr === undefined ? required(values.out, '--out (or --csr)') : values.out;
  if (outDir !== undefined) requireOutputFolder(outDir, '--out', OUT_HINT);
  const csrPem =
    values.csr === undefined
      ? undefined
      : readInputText(values.csr, 'give --csr the certificate signing request (PEM) that the device made');
  // A CSR that is not one for this device is refused here, before the fleet is asked.
  if (csrPem !== undefined) await checkDeviceCsr(csrPem, id);
  const admin = openAdmin(values);
  try {
    const made = csrPem === undefined ? await newDeviceKey(id) : undefined;
    const sealKey = made?.sealKey ?? sealPem;
    const request = {
      csr: csrPem ?? made!.csr,
      validityDays: days,
      ...(sealKey !== undefined ? { sealKey } : {}),
      ...(values['revoke-old'] ? { revokeOld: true } : {}),
    };
    let cert: string;
    let key: string | undefined;
    let notAfter: string;
    if (outDir !== undefined) {
      const keys = made ? { keyPem: made.keyPem, sealKeyPem: made.sealKeyPem } : {};
      const { files, issued } = await withStagedFiles(outDir, keys, true, () => admin.devices.renew(id, request));
      cert = files.cert;
      key = files.key;
      notAfter = issued.notAfter;
    } else {
      const issued = await admin.devices.renew(id, request);
      process.stdout.write(issued.certificate);
      cert = '(stdout)';
      notAfter = issued.notAfter;
    }
    process.stdout.write(
      `device ${id} renewed: certificate ${cert} valid until ${notAfter}${key ? `, new key ${key} (0600)` : ''}\n`,
    );
    return 0;
  } finally {
    admin.close();
  }
}

async function revoke(argv: string[]): Promise<number> {
  const { values, positionals } = parseCli(argv, { ...TARGET_OPTIONS }, HELP);
  const id = idArg(positionals);
  const admin = openAdmin(values);
  try {
    const { revoked } = await admin.devices.revoke(id);
    process.stdout.write(
      revoked
        ? `device ${id} revoked; a running fleet server drops its session within a second\n`
        : `device ${id} was already revoked\n`,
    );
    return 0;
  } finally {
    admin.close();
  }
}

async function list(argv: string[]): Promise<number> {
  const { values } = parseCli(argv, { ...TARGET_OPTIONS, json: { type: 'boolean' } }, HELP);
  const admin = openAdmin(values);
  try {
    const devices = [];
    let cursor: string | null = null;
    do {
      const page = await admin.devices.list({ limit: LIST_PAGE, ...(cursor ? { cursor } : {}) });
      devices.push(...page.items);
      cursor = page.next;
    } while (cursor);
    if (values.json) {
      process.stdout.write(`${JSON.stringify(devices, null, 2)}\n`);
    } else if (devices.length === 0) {
      process.stdout.write('no devices registered; add one with `fleet device add ID --data DIR --out DIR2`\n');
    } else {
      process.stdout.write(
        renderTable(
          ['ID', 'STATUS', 'ONLINE', 'LAST SEEN', 'SAMPLES', 'CERT EXPIRES'],
          devices.map((d) => [
            d.id,
            d.status,
            d.online ? 'yes' : 'no',
            d.lastSeen,
            d.telemetryCount,
            d.certificateExpires?.slice(0, 10),
          ]),
        ),
      );
    }
    return 0;
  } finally {
    admin.close();
  }
}
