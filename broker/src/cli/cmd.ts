// fleet cmd send | list: sign a command locally with an operator key, queue it for the device, follow its acks.
import {
  assertDeviceId,
  dispatch,
  keyId,
  parseCli,
  parseDuration,
  parsePrivateKeyPem,
  required,
  UsageError,
} from '../../../shared/src/index.js';
import {
  COMMAND_NAMES,
  commandSpec,
  describeParam,
  newCommandBody,
  parseCommandParams,
  signCommand,
} from '../../../shared/src/commands/index.js';
import { createAuditLog } from '../db/audit.js';
import { createCommandStore, type CommandRow } from '../db/commands.js';
import { createRegistry } from '../db/registry.js';
import { FleetError } from '../errors.js';
import { openFleetDb } from '../fleet/data-dir.js';
import { readInputText } from './file-args.js';
import { renderTable } from './table.js';

const HELP = `fleet cmd <command>

  fleet cmd send DEVICE COMMAND [--param k=v …] --key operator.key --data DIR [--ttl 5m] [--wait 30s] [--json]
      Validates the parameters, signs the command with the operator's Ed25519 key (on this machine: the
      server never holds operator keys) and queues it. The running fleet server relays it to the device as
      soon as it is connected, and again after reconnects, until the device acknowledges it or it expires.
      With --wait, follows it until the device answers: exit 0 done/accepted, 1 rejected/failed/expired,
      3 no final answer in time.
  fleet cmd list --data DIR [--device ID] [--json]
      Recent commands and their status.

Commands:
${COMMAND_NAMES.map((n) => {
  const spec = commandSpec(n)!;
  const params = Object.entries(spec.fields).map(([k, f]) => `\n      --param ${describeParam(k, f)}`);
  return `  ${n.padEnd(24)} ${spec.description}${params.join('')}`;
}).join('\n')}`;

export function cmdCommand(argv: string[]): Promise<number> {
  return dispatch(argv, { send, list }, HELP);
}

const FINAL = new Set(['done', 'rejected', 'failed', 'expired']);

async function send(argv: string[]): Promise<number> {
  const { values, positionals } = parseCli(
    argv,
    {
      param: { type: 'string', multiple: true },
      key: { type: 'string' },
      data: { type: 'string' },
      ttl: { type: 'string' },
      wait: { type: 'string' },
      json: { type: 'boolean' },
    },
    HELP,
  );
  const [deviceArg, command] = positionals;
  if (!deviceArg || !command || positionals.length > 2) throw new UsageError(`give DEVICE and COMMAND\n\n${HELP}`);
  let deviceId: string;
  try {
    deviceId = assertDeviceId(deviceArg);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  // Validated here, before signing; the device validates again before executing.
  const parsed = parseCommandParams(command, values.param ?? []);
  if (!parsed.ok) {
    const what = parsed.unknownCommand
      ? `unknown command ${command}; known: ${COMMAND_NAMES.join(', ')}`
      : 'invalid parameters';
    throw new UsageError(`${what}:\n${parsed.issues.map((i) => `  - ${i.path}: ${i.message}`).join('\n')}`);
  }
  const ttl = parseDuration(values.ttl ?? '5m', '--ttl');
  if (ttl < 1000 || ttl > 24 * 3600_000) throw new UsageError('--ttl must be between 1s and 24h');
  const waitMs = values.wait === undefined ? 0 : parseDuration(values.wait, '--wait');
  const keyFile = required(values.key, '--key');
  const keyPem = readInputText(
    keyFile,
    "give --key the operator's private key file (made by `fleet operator-key create --out FILE`)",
  );
  const pair = parsePrivateKeyPem(keyPem, keyFile);
  const kid = keyId(pair.publicKey);

  const db = openFleetDb(required(values.data, '--data'));
  try {
    const registry = createRegistry(db);
    const device = registry.get(deviceId);
    if (!device) throw new FleetError('FLEET_DEVICE_UNKNOWN', `no device ${deviceId} is registered`);
    if (device.status !== 'active') throw new FleetError('FLEET_DEVICE_REVOKED', `device ${deviceId} is revoked`);
    const commands = createCommandStore(db);
    const now = Date.now();
    const body = newCommandBody({
      deviceId,
      command,
      params: parsed.params,
      counter: commands.nextCounter(kid),
      ttlMs: ttl,
      now,
    });
    const envelope = signCommand(body, pair.secretKey);
    commands.add({
      id: body.id,
      deviceId,
      command,
      params: parsed.params,
      operator: kid,
      counter: body.counter,
      envelope,
      createdAt: now,
      expiresAt: body.exp,
    });
    createAuditLog(db).record({
      event: 'command.queued',
      deviceId,
      actor: `operator:${kid}`,
      detail: { cmdId: body.id, command, params: parsed.params, counter: body.counter },
    });
    if (!values.json)
      process.stderr.write(
        `command ${body.id} (${command}) signed by key ${kid} and queued for ${deviceId}; expires ` +
          `${new Date(body.exp).toISOString()}\n`,
      );

    let row = commands.get(body.id)!;
    const deadline = Date.now() + waitMs;
    while (
      waitMs > 0 &&
      !FINAL.has(row.status) &&
      !(row.status === 'accepted' && Date.now() > deadline) &&
      Date.now() < deadline
    ) {
      await new Promise((r) => setTimeout(r, 100));
      row = commands.get(body.id)!;
    }
    print(row, values.json === true);
    if (waitMs === 0) return 0;
    if (row.status === 'done' || row.status === 'accepted') return 0;
    if (FINAL.has(row.status)) return 1;
    return 3;
  } finally {
    db.close();
  }
}

function print(row: CommandRow, json: boolean): void {
  if (json) process.stdout.write(`${JSON.stringify(row)}\n`);
  else
    process.stdout.write(
      `${row.id}  ${row.deviceId}  ${row.command}  ` +
        `${row.status}${row.reason ? ` (${row.reason}${row.detail ? `: ${row.detail}` : ''})` : ''}\n`,
    );
}

async function list(argv: string[]): Promise<number> {
  const { values } = parseCli(
    argv,
    { data: { type: 'string' }, device: { type: 'string' }, json: { type: 'boolean' } },
    HELP,
  );
  const db = openFleetDb(required(values.data, '--data'));
  try {
    const rows = createCommandStore(db).list(values.device ?? null);
    if (values.json) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    else
      process.stdout.write(
        renderTable(
          ['ID', 'DEVICE', 'COMMAND', 'STATUS', 'REASON', 'CREATED'],
          rows.map((r) => [r.id, r.deviceId, r.command, r.status, r.reason, r.createdAt]),
        ),
      );
    return 0;
  } finally {
    db.close();
  }
}
