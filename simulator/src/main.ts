// `fleet-sim`: virtual gateways (the real agent on a fake platform) for demos, load tests and attack drills.
import { runCli, UsageError } from '../../shared/src/index.js';
import { demoCommand } from './demo.js';

const HELP = `fleet-sim — edgeward fleet simulator

Usage: fleet-sim <command> [options]   (every command has --help)

  demo    a fleet server and 20 agents in one process (what \`npm start\` runs)

Exit codes: 0 success, 1 error, 2 usage error.`;

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'demo':
      return demoCommand(rest);
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
