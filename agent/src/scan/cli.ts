// `iot-agent scan`: scans this gateway's own API exposure and prints or writes the report; --fail-under gates CI.
import { writeFile } from 'node:fs/promises';
import { parseCli, parseDuration, parsePositiveInt, UsageError } from '../../../shared/src/cli/args.js';
import { DEVICE_ID_PATTERN } from '../../../shared/src/topics.js';
import type { ExposureReport } from '../../../shared/src/messages/exposure.js';
import { ScanError } from './errors.js';
import { FORMATS, formatReport, type Format } from './format/index.js';
import { LLM_PROBE_LEVELS, type LlmProbeLevel } from './probes/llm.js';
import { runScan, SCAN_DEFAULTS, type ScanOptions } from './scanner.js';
import { parsePortList } from './targets.js';

/** Exit code when the score is below --fail-under (0 = pass, 1 = error, 2 = usage error). */
export const EXIT_BELOW_THRESHOLD = 3;

export const SCAN_HELP = `Usage: iot-agent scan [options]

Scans this gateway's own listening services: what they are (by behaviour, on any port), what they let
anyone do, and a 0-100 score with a grade. Probes are read-only: nothing they send writes data or
changes state.

Options:
  --target ADDR            Address or host name to probe. Default: every listening socket on its own
                           bind address (127.0.0.1 or ::1 for all-interfaces binds). Must be one of this
                           host's addresses unless --allow-remote is given.
  --ports LIST|listening   "listening" (default): every listening TCP/UDP socket from /proc/net;
                           or a list such as 22,1883,8000-8010,udp:1900.
  --format table|json|sarif
                           table (default; for people), json (the exposure report the agent publishes)
                           or sarif (SARIF 2.1.0 for code scanning). With --out, a .json or .sarif file
                           name picks the format.
  --out FILE               Write the report to FILE instead of stdout (a summary goes to stderr).
  --fail-under N           Exit 3 when the score is below N (0-100).
  --timeout DURATION       Total time budget (default ${SCAN_DEFAULTS.timeoutMs / 1000}s).
  --probe-timeout DURATION Longest wait for one reply (default ${SCAN_DEFAULTS.probeTimeoutMs / 1000}s).
  --concurrency N          Most probe connections open at once (default ${SCAN_DEFAULTS.concurrency}).
  --no-credential-checks   Do not try default credentials or the login rate-limit burst.
  --llm-probes LEVEL       AI-endpoint probes: none, safe (default: detection, auth, model, injection,
                           leak, consumption) or all (adds excessive-agency, which asks the endpoint to act
                           on the device, so it is opt-in).
  --allow-remote           Allow a --target that is not this host (needs --ports LIST).
  --device-id ID           Device id written into the report (default: from the host name).
  -h, --help               Show this help.

Exit codes: 0 scanned (and score >= --fail-under), 3 score below --fail-under, 2 usage error, 1 error.
`;

const OPTIONS = {
  target: { type: 'string' },
  ports: { type: 'string' },
  format: { type: 'string' },
  out: { type: 'string' },
  'fail-under': { type: 'string' },
  timeout: { type: 'string' },
  'probe-timeout': { type: 'string' },
  concurrency: { type: 'string' },
  'no-credential-checks': { type: 'boolean' },
  'llm-probes': { type: 'string' },
  'allow-remote': { type: 'boolean' },
  'device-id': { type: 'string' },
} as const;

export interface ScanIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly runScan: (opts: ScanOptions) => Promise<ExposureReport>;
  readonly writeFile: (path: string, text: string) => Promise<void>;
}

const defaultIo: ScanIo = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  runScan,
  writeFile: (p, t) => writeFile(p, t, 'utf8'),
};

function pickFormat(format: string | undefined, out: string | undefined): Format {
  if (format !== undefined) {
    if (!(FORMATS as readonly string[]).includes(format))
      throw new UsageError(`--format must be one of ${FORMATS.join(', ')}, got ${JSON.stringify(format)}`);
    return format as Format;
  }
  if (out?.endsWith('.sarif') || out?.endsWith('.sarif.json')) return 'sarif';
  if (out?.endsWith('.json')) return 'json';
  return 'table';
}

function parseFailUnder(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d{1,3}$/.test(text) || Number(text) > 100)
    throw new UsageError(`--fail-under must be an integer from 0 to 100, got ${JSON.stringify(text)}`);
  return Number(text);
}

/** Parses argv into scan options; every problem is a UsageError (exit 2). */
export function parseScanArgs(argv: string[]): {
  options: ScanOptions;
  format: Format;
  out?: string;
  failUnder?: number;
} {
  const { values, positionals } = parseCli(argv, OPTIONS, SCAN_HELP);
  if (positionals.length) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}\n\n${SCAN_HELP}`);
  const ports = values.ports === undefined ? 'listening' : parsePortList(values.ports);
  if (values['allow-remote'] && ports === 'listening')
    throw new UsageError('--allow-remote needs --ports with a list: listening sockets can only be read on this host');
  if (values['device-id'] !== undefined && !DEVICE_ID_PATTERN.test(values['device-id'])) {
    throw new UsageError(`--device-id must match ${DEVICE_ID_PATTERN}, got ${JSON.stringify(values['device-id'])}`);
  }
  const timeoutMs = values.timeout === undefined ? undefined : parseDuration(values.timeout, '--timeout');
  const probeTimeoutMs =
    values['probe-timeout'] === undefined ? undefined : parseDuration(values['probe-timeout'], '--probe-timeout');
  if (timeoutMs === 0 || probeTimeoutMs === 0)
    throw new UsageError('--timeout and --probe-timeout must be more than 0');
  const failUnder = parseFailUnder(values['fail-under']);
  const llm = values['llm-probes'];
  if (llm !== undefined && !(LLM_PROBE_LEVELS as readonly string[]).includes(llm))
    throw new UsageError(`--llm-probes must be one of ${LLM_PROBE_LEVELS.join(', ')}, got ${JSON.stringify(llm)}`);
  const options: ScanOptions = {
    ports,
    ...(values.target !== undefined ? { target: values.target } : {}),
    ...(values['allow-remote'] ? { allowRemote: true } : {}),
    ...(values['no-credential-checks'] ? { credentialChecks: false } : {}),
    ...(llm !== undefined ? { llmProbes: llm as LlmProbeLevel } : {}),
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    ...(probeTimeoutMs !== undefined ? { probeTimeoutMs } : {}),
    ...(values.concurrency !== undefined ? { concurrency: parsePositiveInt(values.concurrency, '--concurrency') } : {}),
    ...(values['device-id'] !== undefined ? { deviceId: values['device-id'] } : {}),
  };
  return {
    options,
    format: pickFormat(values.format, values.out),
    ...(values.out !== undefined ? { out: values.out } : {}),
    ...(failUnder !== undefined ? { failUnder } : {}),
  };
}

export async function scanCommand(argv: string[], io: ScanIo = defaultIo): Promise<number> {
  const { options, format, out, failUnder } = parseScanArgs(argv);
  let report: ExposureReport;
  try {
    report = await io.runScan(options);
  } catch (err) {
    // Pointing the scanner at someone else's host is a command-line mistake, not a runtime failure.
    if (err instanceof ScanError && err.code === 'SCAN_TARGET_REMOTE') throw new UsageError(err.message);
    throw err;
  }
  const text = formatReport(report, format);
  const summary =
    `score ${report.score}/100 (grade ${report.grade}), ${report.findings.length} findings on ` +
    `${report.services.length} services in ${(report.scan.durationMs / 1000).toFixed(1)} s`;
  if (out !== undefined) {
    try {
      await io.writeFile(out, text);
    } catch (err) {
      throw new ScanError('SCAN_OUTPUT_FAILED', `cannot write ${out}: ${(err as Error).message}`, { cause: err });
    }
    io.stderr(`edgeward scan: ${summary}; ${format} report written to ${out}\n`);
  } else io.stdout(text);
  if (failUnder !== undefined && report.score < failUnder) {
    io.stderr(`edgeward scan: score ${report.score} is below --fail-under ${failUnder}\n`);
    return EXIT_BELOW_THRESHOLD;
  }
  return 0;
}
