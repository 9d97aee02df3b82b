// fleet cmd send | list: sign a command on this machine with an operator key, queue it for the device (on the
// server host's data folder, or through the operator API, which checks it first), follow its acknowledgements.
import {
  deviceIdArg,
  dispatch,
  keyId,
  parseCli,
  parseDuration,
  parsePositiveInt,
  required,
  UsageError,
} from '../../../shared/src/index.js';
import { isPkcs11Uri } from '../../../shared/src/pkcs11/index.js';
import {
  COMMAND_NAMES,
  commandSpec,
  describeParam,
  newCommandBody,
  parseCommandParams,
  signCommandWith,
} from '../../../shared/src/commands/index.js';
import { operatorSigner, type OperatorSigner } from '../api/token-signer.js';
import { MAX_PAGE } from '../admin/local.js';
import type { CommandRow } from '../admin/types.js';
import { FleetError } from '../errors.js';
import { readInputText } from './file-args.js';
import { renderTable } from './table.js';
import { openAdmin, openTarget, resolveTarget, type Target, TARGET_HELP, TARGET_OPTIONS } from './target.js';

const HELP = `fleet cmd <command>   (each takes --data DIR or --server URL --ca FILE --credential FILE)

  fleet cmd send DEVICE COMMAND [--param k=v …] [--ttl 5m] [--wait 30s] [--json]
                 (--data DIR --key operator.key | --server URL --ca FILE --credential FILE)
      Validates the parameters, signs the command with an operator's Ed25519 key on this machine (the server
      never holds operator keys) and queues it. With --data the key is --key, any operator key the devices
      trust; through --server it is the operator's --credential, and the server checks the signature before it
      queues the command. The running fleet server relays it to the device as soon as it is connected, and
      again after reconnects, until the device acknowledges it or it expires.
      With --wait, follows it until the device answers: exit 0 done/accepted, 1 rejected/failed/expired,
      3 no final answer in time.
  fleet cmd list [--device ID] [--limit 50] [--json]
      Recent commands and their status, newest first.

${TARGET_HELP}

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
/** How often --wait asks for the command's status. */
const POLL_MS = 200;

/**
 * The signing key: --key on the server host; through --server, the operator's own credential. Either may be a
 * PKCS#11 URI of a key in a token (docs/hsm.md).
 */
function signingKey(target: Target, keyFile: string | undefined): OperatorSigner {
  if (target.kind === 'server') {
    if (keyFile !== undefined) {
      throw new UsageError("through --server the command is signed with the operator's --credential; drop --key");
    }
    if (target.credential === undefined) {
      throw new UsageError('through --server, give --credential FILE: it signs the command (a token cannot)');
    }
    return operatorSigner(target.credential, 'the credential');
  }
  const file = required(keyFile, '--key');
  if (isPkcs11Uri(file)) return operatorSigner(file, '--key');
  const pem = readInputText(
    file,
    "give --key the operator's private key file (made by `fleet operator-key create --out FILE`)",
  );
  return operatorSigner(pem, file);
}

async function send(argv: string[]): Promise<number> {
  const { values, positionals } = parseCli(
    argv,
    {
      ...TARGET_OPTIONS,
      param: { type: 'string', multiple: true },
      key: { type: 'string' },
      ttl: { type: 'string' },
      wait: { type: 'string' },
      json: { type: 'boolean' },
    },
    HELP,
  );
  const [deviceText, command] = positionals;
  if (!deviceText || !command || positionals.length > 2) throw new UsageError(`give DEVICE and COMMAND\n\n${HELP}`);
  const deviceId = deviceIdArg(deviceText, 'DEVICE');
  // Validated here, before signing; the server checks again before queuing, and the device before executing.
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
  const target = resolveTarget(values);
  const pair = signingKey(target, values.key);
  const kid = keyId(pair.publicKey);

  const admin = openTarget(target);
  try {
    const device = await admin.devices.get(deviceId);
    if (device.status !== 'active') throw new FleetError('FLEET_DEVICE_REVOKED', `device ${deviceId} is revoked`);
    const reserved = await admin.commands.reserveCounter(kid);
    if (reserved.kid !== kid) {
      throw new FleetError('FLEET_COMMAND_INVALID', `the server reserved a counter of key ${reserved.kid}, not ${kid}`);
    }
    const now = Date.now();
    const body = newCommandBody({
      deviceId,
      command,
      params: parsed.params,
      counter: reserved.counter,
      ttlMs: ttl,
      now,
    });
    let row = await admin.commands.submit(
      deviceId,
      signCommandWith(body, pair.publicKey, (m) => pair.sign(m)),
    );
    if (!values.json)
      process.stderr.write(
        `command ${body.id} (${command}) signed by key ${kid} and queued for ${deviceId}; expires ` +
          `${new Date(body.exp).toISOString()}\n`,
      );

    const deadline = Date.now() + waitMs;
    while (
      waitMs > 0 &&
      !FINAL.has(row.status) &&
      !(row.status === 'accepted' && Date.now() > deadline) &&
      Date.now() < deadline
    ) {
      await new Promise((r) => setTimeout(r, POLL_MS));
      row = await admin.commands.get(body.id);
    }
    print(row, values.json === true);
    if (waitMs === 0) return 0;
    if (row.status === 'done' || row.status === 'accepted') return 0;
    if (FINAL.has(row.status)) return 1;
    return 3;
  } finally {
    admin.close();
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
    { ...TARGET_OPTIONS, device: { type: 'string' }, limit: { type: 'string' }, json: { type: 'boolean' } },
    HELP,
  );
  const deviceId = values.device === undefined ? undefined : deviceIdArg(values.device, '--device');
  const limit = parsePositiveInt(values.limit, '--limit', 50, MAX_PAGE);
  const admin = openAdmin(values);
  try {
    const { items: rows } = await admin.commands.list({ limit, ...(deviceId !== undefined ? { deviceId } : {}) });
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
    admin.close();
  }
}
