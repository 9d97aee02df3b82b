// `iot-agent`: the edgeward agent for a gateway. Composition root of the CLI: each subcommand is loaded only
// when it runs, so `run` starts (and stays) small.
import { createLogger, dispatch, parseCli, required, runCli, type Subcommand } from '../../shared/src/index.js';
import { createAgent } from './agent.js';
import { loadAgentConfig } from './config.js';
import { scanInChild } from './scan-runner/child-scan.js';
import { tuneForFootprint } from './footprint.js';

const HELP = `iot-agent — the edgeward gateway agent

Usage: iot-agent <command> [options]   (every command has --help)

  run --config FILE          connect to the fleet server, send telemetry, execute signed commands until stopped
  status --config FILE       connection state, outbox depth, sequence numbers, last report times (--json)
  install [--config FILE]    install as a hardened systemd service (--dry-run prints every step)
  uninstall                  reverse install (--purge also removes the state folder and the user)
  enroll …                   get this gateway's certificate with a one-time token
  scan                       scan this gateway's own API exposure and score it

Exit codes: 0 success, 1 error, 2 usage error (scan: 3 when below --fail-under).`;

const RUN_HELP = `iot-agent run --config FILE

Runs the agent: connects to the fleet server over mutual TLS, publishes its status and telemetry (stored in
the state folder's outbox until acknowledged), executes signed commands from trusted operator keys and
reconnects with backoff. SIGINT/SIGTERM stop it cleanly (in-flight messages are acknowledged first); a second
signal stops it at once. The config file is JSON; see docs/agent-config.md and docs/commands.md.`;

/** A clean stop that takes longer than this is cut short (systemd's TimeoutStopSec is 20 s). */
const STOP_TIMEOUT_MS = 15_000;

async function run(argv: string[]): Promise<number> {
  const { values } = parseCli(argv, { config: { type: 'string' } }, RUN_HELP);
  tuneForFootprint();
  const config = loadAgentConfig(required(values.config, '--config'));
  const log = createLogger({ level: config.log.level, format: config.log.format, base: { deviceId: config.deviceId } });
  let firstAck = true;
  // Listened for before the agent starts: a SIGTERM right after it logs that it started (systemd, a test) stops it
  // cleanly instead of killing it by the default action; one during start-up stops it once it has started.
  const stopRequested = new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  const agent = await createAgent({
    config,
    log,
    ...(config.scan.enabled
      ? {
          scanner: () =>
            scanInChild({
              deviceId: config.deviceId,
              ports: config.scan.ports,
              credentialChecks: config.scan.credentialChecks,
              llmProbes: config.scan.llmProbes,
              timeoutSeconds: config.scan.timeoutSeconds,
            }),
          scanIntervalMs: config.scan.intervalSeconds * 1000,
        }
      : {}),
    onAck(first, last) {
      if (!firstAck) return;
      firstAck = false;
      // Cold start to the first stored sample, from process start (benchmarked in bench/agent-footprint.ts).
      log.info('first telemetry acknowledged', { first, last, msSinceStart: Math.round(process.uptime() * 1000) });
    },
  });
  await stopRequested;
  const force = () => {
    log.warn('stopping at once');
    process.exit(1);
  };
  process.once('SIGINT', force);
  process.once('SIGTERM', force);
  setTimeout(force, STOP_TIMEOUT_MS).unref();
  await agent.close();
  return 0;
}

/** Subcommands other than `run` are imported when called, so they cost `run` nothing. */
const COMMANDS: Readonly<Record<string, Subcommand>> = {
  run,
  status: async (argv) => (await import('./cli/status.js')).statusCommand(argv),
  install: async (argv) => (await import('./install/cli.js')).installCommand(argv),
  uninstall: async (argv) => (await import('./install/cli.js')).uninstallCommand(argv),
  enroll: async (argv) => (await import('./enroll/cli.js')).enrollCommand(argv),
  scan: async (argv) => (await import('./scan/cli.js')).scanCommand(argv),
};

export function main(argv: string[]): Promise<number> {
  return dispatch(argv, COMMANDS, HELP);
}

runCli(() => main(process.argv.slice(2)));
