// `fleet-sim run`: a virtual fleet against a fleet server, one scenario, a summary table and (--json) a result.
import { writeFileSync } from 'node:fs';
import {
  parseCli,
  parseDuration,
  parsePercent,
  parsePositiveInt,
  parseStages,
  readRegularFile,
  readRegularText,
  required,
  UsageError,
} from '../../shared/src/index.js';
import { MAX_TRUST_DOCUMENT_BYTES } from '../../broker/src/fleet/releases.js';
import { createProgressWriter } from './progress.js';
import { scenarioHelp } from './scenarios/index.js';
import { createSimulator } from './fleet.js';
import { DEFAULTS, type FailMode } from './options.js';
import { renderSummary } from './summary.js';

export const RUN_HELP = `fleet-sim run --server mqtts://127.0.0.1:8883 --data DIR --devices N --scenario NAME
              [--server-api https://127.0.0.1:8443] [--duration 60s] [--telemetry-interval 10s] [--ramp 200/s]
              [--workers K] [--json FILE]
       fleet-sim run --scenario rollout --release BUNDLE [--fail-rate 0.2] [--fail-mode download|verify|health]
              [--stages 10%,50%,100%] [--success-threshold 95%] [--error-threshold 10%] [--min-wait 0s] …

Runs N virtual gateways — the real agent on a fake platform, each with its own certificate and its own mTLS
connection — against a running fleet server, for one scenario, then prints a summary table. What the server
stored (samples, latency, exposure reports, audit events, command acknowledgements) is read through its
operator API.

  --server URL[,URL…]     the fleet server (mqtts://), or a cluster's nodes separated by commas: each device gets
                          the list, picks one at random and fails over to the others (the agent's server list).
                          Only loopback targets are allowed unless --allow-remote.
  --data DIR              the server's fleet data folder (pki/, fleet.db). Identities are issued once into
                          DIR/sim/<prefix>NNNNN/ (as \`fleet device add --bulk\`) and reused by later runs.
  --server-api URL        the operator API to read what the server stored from (default: the --server host,
                          port 8443); any node of the fleet, not only the one the devices connect to
  --ca FILE               the fleet CA the API's certificate chains to (default DIR/pki/ca.crt)
  --credential FILE       an operator credential of a viewer or above (\`fleet operator add\`). Default: the
                          simulator's own viewer, registered in DIR on first use (DIR/sim/operator.key)
  --devices N             virtual devices
  --scenario NAME         one of:
${scenarioHelp().replace(/^/gm, '    ')}
  --duration D            measured part, after every device is connected (default 60s)
  --settle D              wait at least this long after every device is connected before measuring (default
                          0s), then on until the simulator has caught up (event-loop delay p99 under 100 ms for
                          2 s), at most 4 × D: the last handshakes and the simulator's own backlog from the ramp
                          are not counted
  --telemetry-interval D  seconds between samples, whole seconds (default 10s)
  --ramp R/s              new devices per second while starting (default 200/s): TLS handshakes cost the
                          server CPU, and a device whose handshake queues too long times out and backs off
  --max-connecting K      while starting, no new device begins while K connection attempts are under way
                          (default 128): the ramp slows to what the server can handshake
  --workers K             worker processes (default: one per core; 0 runs the devices in this process)
  --json FILE             write the machine-readable result (schema ${'edgeward.fleet-sim.result/1'}, docs/simulator.md)
  --prefix P              device id prefix (default sim-)
  --rogues K              attack: rogue devices (default 2)
  --outage D              reconnect-storm: how long the proxy refuses connections after the cut (default 2s)
  --release BUNDLE        rollout: the bundle to publish and roll out to the virtual devices; the server must hold
                          the trust document it verifies against (\`fleet trust set\`). The devices run hardware
                          edgeward-sim-gw, firmware 1.0.0 with sequence 100 (docs/simulator.md#firmware-rollouts).
                          Published and rolled out through the operator API with --credential (a release-manager
                          or admin; any node of a cluster), else through the admin layer on --data
  --trust FILE            rollout with --credential: the fleet's first trust document (trust.cbor), which the
                          devices trust; checked against the one installed
  --fail-rate F           rollout: the share of devices whose update is made to fail, 0 to 1 or 0% to 100%
                          (default 0)
  --fail-mode M           rollout: where they fail: download (the server's reply is cut off), verify (the bytes
                          are changed in transit) or health (the new image fails its health check; default verify)
  --stages, --success-threshold, --error-threshold, --min-wait
                          rollout: as \`fleet rollout create\` (defaults 10%,50%,100%, 95%, 10% and 0s)
  --reconnect-min D, --reconnect-max D
                          the agents' reconnect back-off bounds (default 1s and 120s, as on a gateway)
  --exposure-interval D   exposure report interval after the first one (default 1h; 0 turns reports off)
  --drain D               after the run, wait this long at most for every sample to be acknowledged (default 30s)
  --connect-timeout D     wait this long at most for every device to connect (default from --ramp)
  --addresses K           loopback source addresses to spread devices over, 127.0.0.2… (default 250)
  --allow-remote          allow a --server that is not on loopback (only a server you are authorised to load)

Exit codes: 0 every invariant held (no sample lost; attack: every rogue action denied; …), 1 an invariant
failed or an error, 2 usage error. docs/simulator.md shows how to size a server with it.`;

/** "500/s", "500" (per second) or "6000/m". */
export function parseRate(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(?:\/(s|m))?$/.exec(text.trim());
  if (!m) throw new UsageError(`--ramp ${JSON.stringify(text)} is not a rate; use e.g. 200/s`);
  return Number(m[1]) / (m[2] === 'm' ? 60 : 1);
}

/** "0.2" or "20%" → 0.2. */
function parseShare(text: string, what: string): number {
  const t = text.trim();
  if (/^(0?\.\d+|0|1)$/.test(t)) return Number(t);
  return parsePercent(t, what);
}

function wholeSeconds(text: string, what: string): number {
  const ms = parseDuration(text, what);
  if (ms % 1000 !== 0 || ms < 1000) throw new UsageError(`${what} must be a whole number of seconds, at least 1s`);
  return ms / 1000;
}

export async function runCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCli(
    argv,
    {
      server: { type: 'string' },
      data: { type: 'string' },
      devices: { type: 'string' },
      scenario: { type: 'string' },
      duration: { type: 'string' },
      settle: { type: 'string' },
      'telemetry-interval': { type: 'string' },
      ramp: { type: 'string' },
      'max-connecting': { type: 'string' },
      workers: { type: 'string' },
      json: { type: 'string' },
      prefix: { type: 'string' },
      rogues: { type: 'string' },
      outage: { type: 'string' },
      'reconnect-min': { type: 'string' },
      'reconnect-max': { type: 'string' },
      'exposure-interval': { type: 'string' },
      drain: { type: 'string' },
      'connect-timeout': { type: 'string' },
      addresses: { type: 'string' },
      'allow-remote': { type: 'boolean' },
      'server-api': { type: 'string' },
      release: { type: 'string' },
      trust: { type: 'string' },
      'fail-rate': { type: 'string' },
      'fail-mode': { type: 'string' },
      stages: { type: 'string' },
      'success-threshold': { type: 'string' },
      'error-threshold': { type: 'string' },
      'min-wait': { type: 'string' },
      ca: { type: 'string' },
      credential: { type: 'string' },
    },
    RUN_HELP,
  );
  if (positionals.length > 0)
    throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}\n\n${RUN_HELP}`);
  const workers =
    values.workers === undefined ? undefined : /^\d+$/.test(values.workers) ? Number(values.workers) : NaN;
  if (Number.isNaN(workers))
    throw new UsageError('--workers must be a whole number (0 runs the devices in this process)');
  const progress = createProgressWriter();
  const sim = await createSimulator({
    server: required(values.server, '--server'),
    dataDir: required(values.data, '--data'),
    devices: parsePositiveInt(values.devices, '--devices'),
    scenario: required(values.scenario, '--scenario'),
    ...(values.duration ? { durationMs: parseDuration(values.duration, '--duration') } : {}),
    ...(values.settle ? { settleMs: parseDuration(values.settle, '--settle') } : {}),
    ...(values['telemetry-interval']
      ? { telemetryIntervalSeconds: wholeSeconds(values['telemetry-interval'], '--telemetry-interval') }
      : {}),
    ...(values.ramp ? { rampPerSecond: parseRate(values.ramp) } : {}),
    ...(workers !== undefined ? { workers } : {}),
    ...(values['max-connecting']
      ? { maxConnecting: parsePositiveInt(values['max-connecting'], '--max-connecting') }
      : {}),
    ...(values.prefix ? { prefix: values.prefix } : {}),
    ...(values.rogues ? { rogues: parsePositiveInt(values.rogues, '--rogues') } : {}),
    ...(values.outage ? { outageMs: parseDuration(values.outage, '--outage') } : {}),
    ...(values['reconnect-min'] || values['reconnect-max']
      ? {
          reconnect: {
            minSeconds:
              parseDuration(values['reconnect-min'] ?? `${DEFAULTS.reconnect.minSeconds}s`, '--reconnect-min') / 1000,
            maxSeconds:
              parseDuration(values['reconnect-max'] ?? `${DEFAULTS.reconnect.maxSeconds}s`, '--reconnect-max') / 1000,
          },
        }
      : {}),
    ...(values['exposure-interval']
      ? { exposureEveryMs: parseDuration(values['exposure-interval'], '--exposure-interval') }
      : {}),
    ...(values.drain ? { drainMs: parseDuration(values.drain, '--drain') } : {}),
    ...(values['connect-timeout']
      ? { connectTimeoutMs: parseDuration(values['connect-timeout'], '--connect-timeout') }
      : {}),
    ...(values.addresses ? { sourceAddresses: Number(values.addresses) } : {}),
    ...(values['allow-remote'] ? { allowRemote: true } : {}),
    ...(values.release ? { release: values.release } : {}),
    ...(values.trust ? { trust: readRegularFile(values.trust, { maxBytes: MAX_TRUST_DOCUMENT_BYTES }) } : {}),
    ...(values['fail-rate'] ? { failRate: parseShare(values['fail-rate'], '--fail-rate') } : {}),
    ...(values['fail-mode'] ? { failMode: values['fail-mode'] as FailMode } : {}),
    ...(values.stages ? { stages: parseStages(values.stages) } : {}),
    ...(values['success-threshold']
      ? { successThreshold: parsePercent(values['success-threshold'], '--success-threshold') }
      : {}),
    ...(values['error-threshold']
      ? { errorThreshold: parsePercent(values['error-threshold'], '--error-threshold') }
      : {}),
    ...(values['min-wait'] ? { minWaitMs: parseDuration(values['min-wait'], '--min-wait') } : {}),
    ...(values['server-api'] ? { serverApi: values['server-api'] } : {}),
    ...(values.ca ? { ca: readRegularText(values.ca, { maxBytes: 64 * 1024 }) } : {}),
    ...(values.credential ? { credential: readRegularText(values.credential, { maxBytes: 16 * 1024 }) } : {}),
    onIssue: (done, total) => {
      if (done === 1 || done === total || done % 500 === 0) progress.note(`issuing identities: ${done}/${total}`);
    },
    onTick: (_tick, line) => progress.line(line),
    onNote: (line) => progress.note(line),
  });
  // Ctrl-C once ends the scenario early and still reports; twice leaves at once.
  let interrupted = false;
  const onSignal = () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    progress.note('stopping early (Ctrl-C again to quit at once) …');
    void sim.close();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const result = await sim.done;
    progress.done();
    process.stdout.write(renderSummary(result));
    if (values.json) writeFileSync(values.json, `${JSON.stringify(result, null, 2)}\n`);
    return result.ok ? 0 : 1;
  } finally {
    progress.done();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
