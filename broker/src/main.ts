// `fleet`: the fleet server and its administration commands.
import { runCli, UsageError } from '../../shared/src/index.js';
import { deviceCommand } from './commands/device.js';
import { pkiCommand } from './commands/pki.js';
import { serveCommand } from './commands/serve.js';

const HELP = `fleet — the edgeward fleet server

Usage: fleet <command> [options]   (every command has --help)

  pki init       create the fleet CA and server certificate
  device add     register a device and issue its certificate
  device revoke  revoke a device (a running server drops it at once)
  device list    list devices, their status and data
  serve          run the MQTT broker (mTLS) and HTTPS endpoint

Exit codes: 0 success, 1 error, 2 usage error.`;

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'pki':
      return pkiCommand(rest);
    case 'device':
      return deviceCommand(rest);
    case 'serve':
      return serveCommand(rest);
    case undefined:
    case '--help':
    case '-h':
    case 'help':
      process.stdout.write(`${HELP}\n`);
      return command === undefined ? 2 : 0;
    default:
      throw new UsageError(`unknown command ${JSON.stringify(command)}\n\n${HELP}`);
  }
}

runCli(() => main(process.argv.slice(2)));
