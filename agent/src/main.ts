// `iot-agent`: the edgeward agent for a gateway.
import { parseCli, required, runCli, UsageError } from '../../shared/src/index.js';
import { createAgent } from './agent.js';
import { loadAgentConfig } from './config.js';

const HELP = `iot-agent — the edgeward gateway agent

Usage: iot-agent <command> [options]   (every command has --help)

  run --config FILE   connect to the fleet server and send telemetry until stopped

Exit codes: 0 success, 1 error, 2 usage error.`;

const RUN_HELP = `iot-agent run --config FILE

Runs the agent: connects to the fleet server over mutual TLS, publishes its status and telemetry
(stored in the state folder's outbox until acknowledged) and reconnects with backoff. SIGINT/SIGTERM
stop it cleanly. The config file is JSON; see docs/agent-config.md.`;

async function run(argv: string[]): Promise<number> {
  const { values } = parseCli(argv, { config: { type: 'string' } }, RUN_HELP);
  const config = loadAgentConfig(required(values.config, '--config'));
  const agent = await createAgent({ config });
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await agent.close();
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'run':
      return run(rest);
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
