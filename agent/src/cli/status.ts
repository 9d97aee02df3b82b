// `iot-agent status`: connection state, outbox depth, sequence numbers and last report times, read from the
// state folder — so it answers the same whether the agent runs, has crashed or was never started.
import { parseCli, required } from '../../../shared/src/index.js';
import { loadAgentConfig } from '../config.js';
import { agentStorageKey, readAgentStatus, type AgentStatusReport } from '../state/index.js';

export const STATUS_HELP = `iot-agent status --config FILE [--json]

Prints the agent's state from its state folder: running or not, connected or not, outbox depth, last sample
made and acknowledged, samples dropped, last report times and versions. --json prints one JSON object
(outboxDepth, lastSequence, lastAckedSequence, acknowledged, dropped, droppedBy, connected, … — see
docs/install-gateway.md).`;

function when(ms: number | null, now: number): string {
  if (ms === null) return 'never';
  const ago = Math.max(0, Math.round((now - ms) / 1000));
  return (
    `${new Date(ms).toISOString()} ` +
    `(${ago < 120 ? `${ago} s` : ago < 7200 ? `${Math.round(ago / 60)} min` : `${Math.round(ago / 3600)} h`} ago)`
  );
}

function stopNote(r: AgentStatusReport, now: number): string {
  if (r.stoppedAt !== null) return ` (stopped cleanly ${when(r.stoppedAt, now)})`;
  return r.startedAt !== null ? ' (did not stop cleanly)' : '';
}

/** Every sample taken is acknowledged, waiting or dropped: the row shows that the numbers add up. */
function samplesRow(r: AgentStatusReport): string {
  const reasons = Object.entries(r.droppedBy)
    .filter(([, n]) => n > 0)
    .map(([reason, n]) => `${reason} ${n}`)
    .join(', ');
  return (
    `${r.acknowledged + r.samples + r.dropped} taken = ${r.acknowledged} acknowledged + ${r.samples} waiting + ` +
    `${r.dropped} dropped${reasons ? ` (${reasons})` : ''}`
  );
}

/** The pending update and its state, or how the last one ended. */
function updateRow(r: AgentStatusReport): string {
  const u = r.update;
  if (!u) return 'none';
  const what = `${u.version ?? u.releaseId.slice(0, 12)} (rollout ${u.rolloutId})`;
  const why = u.reasonCode ? `: ${u.reasonCode}${u.reason ? ` ${u.reason.slice(0, 120)}` : ''}` : '';
  if (u.state === 'Idle') return `last ${what} ended ${u.outcome ?? '-'}${why}`;
  const progress = u.state === 'Downloading' && u.size ? ` ${u.done} of ${u.size} bytes` : '';
  return `${what} pending: ${u.state}${progress}, from ${u.fromVersion}${why}`;
}

export function formatStatus(deviceId: string, r: AgentStatusReport, now: number): string {
  const agent = !r.initialized
    ? 'never ran with this state folder'
    : r.running
      ? `running (pid ${r.pid}), ${r.connected ? `connected since ${when(r.connectedSince, now)}` : 'not connected'}`
      : `not running${stopNote(r, now)}`;
  const byChannel = Object.entries(r.messages)
    .map(([c, n]) => `${c} ${n}`)
    .join(', ');
  const rows: [string, string][] = [
    ['state folder', r.stateDir],
    ['agent', agent],
    ['server', r.server ?? '-'],
    [
      'outbox',
      `${r.outboxDepth} waiting (${r.samples} samples, ${Object.values(r.messages).reduce((a, b) => a + b, 0)} ` +
        `messages${byChannel ? `: ${byChannel}` : ''})`,
    ],
    ['sequence', `last made ${r.lastSequence}, last acknowledged ${r.lastAckedSequence}`],
    ['samples', samplesRow(r)],
    ['telemetry ack', when(r.lastTelemetryAckAt, now)],
    ['message ack', when(r.lastMessageAckAt, now)],
    ['last command', when(r.lastCommandAt, now)],
    ['telemetry', r.telemetryIntervalSeconds === null ? '-' : `every ${r.telemetryIntervalSeconds} s`],
    ['versions', `agent ${r.agentVersion ?? '-'}, firmware ${r.firmwareVersion ?? '-'} (installed)`],
    ['update', updateRow(r)],
    [
      'commands',
      `${r.nonces} nonces remembered, counters for ${r.operatorCounters} operator ` +
        `key${r.operatorCounters === 1 ? '' : 's'}`,
    ],
  ];
  return [`edgeward agent ${deviceId}`, ...rows.map(([k, v]) => `  ${k.padEnd(14)} ${v}`)].join('\n');
}

export async function statusCommand(
  argv: string[],
  out: (text: string) => void = (t) => process.stdout.write(`${t}\n`),
): Promise<number> {
  const { values } = parseCli(argv, { config: { type: 'string' }, json: { type: 'boolean' } }, STATUS_HELP);
  const config = loadAgentConfig(required(values.config, '--config'));
  const report = readAgentStatus(config.stateDir, agentStorageKey(config));
  out(
    values.json
      ? JSON.stringify({ deviceId: config.deviceId, ...report }, null, 2)
      : formatStatus(config.deviceId, report, Date.now()),
  );
  return 0;
}
