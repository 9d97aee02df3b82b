// The `fw` dispatcher: one subcommand per file; returns the exit code (0 success / valid, 1 invalid or an error).
import { UsageError } from '../../../shared/src/cli/index.js';
import { processIo, type Command, type Io } from './io.js';
import { inspect } from './inspect.js';
import { keygen } from './keygen.js';
import { sign } from './sign.js';
import { trust } from './trust.js';
import { verify } from './verify.js';

const COMMANDS: Record<string, Command> = { keygen, trust, sign, inspect, verify };

export const HELP = `Usage: fw <command> [options]

Signs and verifies edgeward firmware bundles (Ed25519, COSE_Sign1 manifest + payload).

Commands:
  keygen     make an Ed25519 key pair (PKCS#8 PEM, mode 0600, and SPKI PEM)
  trust      create and update trust documents (root keys, release keys, thresholds)
  sign       sign a payload into a bundle
  inspect    print a bundle's manifest and signers (nothing verified)
  verify     verify a bundle: exit 0 valid, 1 invalid (with a reason code), 2 usage error

Exit codes: 0 success, 1 error (error CODE: message; a file that cannot be read or written is FW_IO),
2 usage error.

Run fw <command> --help for its options.`;

/** Runs one `fw` invocation; exported so tests can run it in-process. */
export async function fw(argv: string[], io: Io = processIo): Promise<number> {
  const [command, ...rest] = argv;
  if (command === '--help' || command === '-h') {
    io.out(`${HELP}\n`);
    return 0;
  }
  if (command === undefined) throw new UsageError(`a command is required\n\n${HELP}`);
  const run = COMMANDS[command];
  if (!run) throw new UsageError(`unknown command "${command}"\n\n${HELP}`);
  return run(rest, io);
}
