// fleet operator-key create: an Ed25519 key pair for signing commands (the private half stays with the operator).
import { existsSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  EdgewardError,
  generateKeyPair,
  keyId,
  parseCli,
  privateKeyToPem,
  publicKeyToPem,
  required,
  UsageError,
  writeFileSafe,
  writeSecret,
  dispatch,
} from '../../../shared/src/index.js';
import { requireOutputFile, withHint } from './file-args.js';

const HELP = `fleet operator-key create --out FILE [--name NAME] [--force]

Makes an Ed25519 key pair for signing commands: FILE (PKCS#8 PEM, mode 0600: keep it with the operator, never
on the fleet server) and FILE.pub (SPKI PEM: give it to devices). A device runs a command only when it is
signed by a key in its config's "operators" list that is allowed that command; this prints the entry to add.`;

export function operatorKeyCommand(argv: string[]): Promise<number> {
  return dispatch(argv, { create: createOperatorKey }, HELP);
}

async function createOperatorKey(rest: string[]): Promise<number> {
  const { values } = parseCli(
    rest,
    { out: { type: 'string' }, name: { type: 'string' }, force: { type: 'boolean' } },
    HELP,
  );
  const out = required(values.out, '--out');
  const name = values.name ?? 'operator';
  if (!/^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/.test(name))
    throw new UsageError('--name may hold letters, digits and . _ @ - (at most 64)');
  const force = values.force === true;
  const hint = 'give --out a file path on a writable disk';
  // Both halves are checked before either is written, and the private key goes again if its public half cannot be
  // written: a refusal or failure never leaves a key without its pair.
  for (const path of [out, `${out}.pub`]) {
    requireOutputFile(path, '--out', hint);
    if (!force && existsSync(path)) {
      throw new EdgewardError('FILE_EXISTS', `${path} already exists; pass --force to overwrite it`);
    }
  }
  const pair = generateKeyPair();
  try {
    writeSecret(out, privateKeyToPem(pair.secretKey), force);
    try {
      writeFileSafe(`${out}.pub`, publicKeyToPem(pair.publicKey), { overwrite: force });
    } catch (err) {
      rmSync(out, { force: true });
      throw err;
    }
  } catch (err) {
    throw withHint(err, hint);
  }
  const entry = { name, publicKey: `${resolve(out)}.pub`, allow: ['*'] };
  process.stdout.write(
    `operator key ${keyId(pair.publicKey)} written\n  private  ${out}  (0600: keep it offline, with the ` +
      `operator)\n  public   ${out}.pub\n` +
      `add to each device's agent config (narrow "allow" to the commands this key may send):\n  "operators": ` +
      `[${JSON.stringify(entry)}]\n`,
  );
  return 0;
}
