// `fleet-sim`: virtual gateways (the real agent on a fake platform) for demos, load tests and attack drills.
import { runCli, UsageError } from '../../shared/src/index.js';
import { runCommand } from './cli.js';
import { demoCommand } from './demo.js';
import { WORKER_COMMAND } from './workers/protocol.js';
import { workerMain } from './workers/worker-main.js';

const HELP = `fleet-sim — edgeward fleet simulator

Usage: fleet-sim <command> [options]   (every command has --help)

  demo    a fleet server and 20 agents in one process (what \`npm start\` runs)
  run     thousands of virtual gateways against a fleet server, one scenario (steady, reconnect-storm,
          attack, throughput), with a summary table and a JSON result

Exit codes: 0 success, 1 error (or a run whose invariants failed), 2 usage error.`;

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'demo':
      return demoCommand(rest);
    case 'run':
      return runCommand(rest);
    case WORKER_COMMAND:
      return workerMain();
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
