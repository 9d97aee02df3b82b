// fleet device add | revoke | list: the device registry from the command line.
import { join } from 'node:path';
import {
  assertDeviceId,
  createProgress,
  dispatch,
  isValidDeviceId,
  parseCli,
  parsePositiveInt,
  type ProtocolError,
  required,
  UsageError,
} from '../../../shared/src/index.js';
import { createAuditLog } from '../db/audit.js';
import { createRegistry } from '../db/registry.js';
import { FleetError } from '../errors.js';
import { loadCa, openFleetDb } from '../fleet/data-dir.js';
import { DEFAULT_DEVICE_VALIDITY_DAYS, provisionDevice, renewDevice } from '../fleet/provision.js';
import { readInputText, requireOutputFolder, withHint } from './file-args.js';
import { renderTable } from './table.js';
import { parseValidityDays } from './validity-days.js';

/** What to do when the --out folder cannot be used or written. */
const OUT_HINT = "give --out a folder on a writable disk for the device's key and certificates (created if absent)";

/** Ids in one --bulk run: the ids and their progress stay small in memory. */
const MAX_BULK = 1_000_000;

const HELP = `fleet device <command>

  fleet device add ID --data DIR --out DIR2 [--type T] [--days 365] [--force]
      Registers device ID and writes DIR2/device.key (0600), DIR2/device.crt and DIR2/ca.crt.
  fleet device add --bulk N --prefix P --data DIR --out DIR2 [--type T] [--days 365]
      Registers P00001 … PN (skipping ids that exist) and writes DIR2/<id>/device.{key,crt} and ca.crt.
  fleet device renew ID --data DIR --out DIR2 [--csr FILE] [--days 365] [--revoke-old]
      Re-issues the device certificate before it expires: for a CSR the device made (--csr), or with a new key
      written to DIR2. Older certificates stay valid until they expire unless --revoke-old.
  fleet device revoke ID --data DIR
      Revokes the device and its certificates; a running fleet server drops it within a second.
  fleet device list --data DIR [--json]
      Lists devices: id, status, online, last seen, samples stored, certificate expiry.`;

function idArg(positionals: string[]): string {
  const id = positionals[0];
  if (!id) throw new UsageError(`a device id is required\n\n${HELP}`);
  try {
    return assertDeviceId(id);
  } catch (err) {
    throw new UsageError((err as ProtocolError).message);
  }
}

export function deviceCommand(argv: string[]): Promise<number> {
  return dispatch(argv, { add, renew, revoke, list }, HELP);
}

async function add(argv: string[]): Promise<number> {
  const { values, positionals } = parseCli(
    argv,
    {
      data: { type: 'string' },
      out: { type: 'string' },
      type: { type: 'string' },
      days: { type: 'string' },
      force: { type: 'boolean' },
      bulk: { type: 'string' },
      prefix: { type: 'string' },
    },
    HELP,
  );
  const dir = required(values.data, '--data');
  const out = required(values.out, '--out');
  const days = parseValidityDays(values.days, '--days', DEFAULT_DEVICE_VALIDITY_DAYS);
  if (values.bulk !== undefined) {
    if (positionals.length > 0) throw new UsageError('give either an ID or --bulk N, not both');
    const count = parsePositiveInt(values.bulk, '--bulk');
    if (count > MAX_BULK) throw new UsageError(`--bulk is at most ${MAX_BULK}, got ${count}`);
    requireOutputFolder(out, '--out', OUT_HINT);
    return addBulk(dir, out, count, required(values.prefix, '--prefix'), values.type, days);
  }
  const id = idArg(positionals);
  requireOutputFolder(out, '--out', OUT_HINT);
  const db = openFleetDb(dir);
  try {
    const registry = createRegistry(db);
    const files = await provisionDevice(registry, await loadCa(dir), id, out, {
      ...(values.type ? { deviceType: values.type } : {}),
      validityDays: days,
      overwrite: values.force === true,
    }).catch((err: unknown) => {
      throw withHint(err, OUT_HINT);
    });
    createAuditLog(db).record({
      event: 'device.added',
      deviceId: id,
      actor: 'cli',
      detail: { type: values.type ?? 'default' },
    });
    process.stdout.write(
      `device ${id} registered\n  key          ${files.key}  (mode 0600; keep it on the device)\n  certificate  ` +
        `${files.cert}\n  CA           ${files.ca}\n`,
    );
    return 0;
  } finally {
    db.close();
  }
}

/** Issues many identities at once (simulator fleets, load tests); existing ids are kept, so a rerun is instant. */
async function addBulk(
  dir: string,
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
  const db = openFleetDb(dir);
  try {
    const registry = createRegistry(db);
    const ca = await loadCa(dir);
    const progress = createProgress('issuing', count);
    let made = 0;
    for (const [i, id] of ids.entries()) {
      if (!registry.exists(id)) {
        await provisionDevice(registry, ca, id, join(out, id), {
          ...(type ? { deviceType: type } : {}),
          validityDays: days,
          overwrite: true,
        }).catch((err: unknown) => {
          throw withHint(err, OUT_HINT);
        });
        made++;
      }
      progress.update(i + 1);
    }
    progress.finish();
    createAuditLog(db).record({ event: 'device.added', actor: 'cli', detail: { bulk: made, prefix } });
    process.stdout.write(`${made} devices issued, ${count - made} already registered; credentials in ${out}/<id>/\n`);
    return 0;
  } finally {
    db.close();
  }
}

async function renew(argv: string[]): Promise<number> {
  const { values, positionals } = parseCli(
    argv,
    {
      data: { type: 'string' },
      out: { type: 'string' },
      csr: { type: 'string' },
      days: { type: 'string' },
      'revoke-old': { type: 'boolean' },
    },
    HELP,
  );
  const id = idArg(positionals);
  const dir = required(values.data, '--data');
  const days = parseValidityDays(values.days, '--days', DEFAULT_DEVICE_VALIDITY_DAYS);
  const outDir = values.csr === undefined ? required(values.out, '--out (or --csr)') : values.out;
  if (outDir !== undefined) requireOutputFolder(outDir, '--out', OUT_HINT);
  const csrPem =
    values.csr === undefined
      ? undefined
      : readInputText(values.csr, 'give --csr the certificate signing request (PEM) that the device made');
  const db = openFleetDb(dir);
  try {
    const registry = createRegistry(db);
    const files = await renewDevice(registry, await loadCa(dir), id, {
      validityDays: days,
      revokeOld: values['revoke-old'] === true,
      ...(csrPem !== undefined ? { csrPem } : {}),
      ...(outDir !== undefined ? { outDir } : {}),
    }).catch((err: unknown) => {
      throw withHint(err, OUT_HINT);
    });
    createAuditLog(db).record({
      event: 'device.renewed',
      deviceId: id,
      actor: 'cli',
      detail: { serial: files.serial, revokedOld: values['revoke-old'] === true },
    });
    process.stdout.write(
      `device ${id} renewed: certificate ${files.cert} valid until ` +
        `${files.notAfter}${files.key ? `, new key ${files.key} (0600)` : ''}\n`,
    );
    return 0;
  } finally {
    db.close();
  }
}

async function revoke(argv: string[]): Promise<number> {
  const { values, positionals } = parseCli(argv, { data: { type: 'string' } }, HELP);
  const id = idArg(positionals);
  const db = openFleetDb(required(values.data, '--data'));
  try {
    const registry = createRegistry(db);
    if (!registry.exists(id)) throw new FleetError('FLEET_DEVICE_UNKNOWN', `no device ${id} is registered`);
    const changed = registry.revoke(id);
    createAuditLog(db).record({ event: 'device.revoked', deviceId: id, actor: 'cli' });
    process.stdout.write(
      changed
        ? `device ${id} revoked; a running fleet server drops its session within a second\n`
        : `device ${id} was already revoked\n`,
    );
    return 0;
  } finally {
    db.close();
  }
}

async function list(argv: string[]): Promise<number> {
  const { values } = parseCli(argv, { data: { type: 'string' }, json: { type: 'boolean' } }, HELP);
  const db = openFleetDb(required(values.data, '--data'));
  try {
    const devices = createRegistry(db).list();
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
    db.close();
  }
}
