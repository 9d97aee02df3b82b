// fleet rollout create | list | status | pause | resume | abort: staged rollouts of a published release, on the
// server host's data folder or through the operator API (release-manager or admin).
import {
  dispatch,
  parseCli,
  parseDuration,
  parsePercent,
  parsePositiveInt,
  parseStages,
  RELEASE_ID_PATTERN,
  required,
  UsageError,
} from '../../../shared/src/index.js';
import type { RolloutView } from '../admin/types.js';
import { renderTable } from './table.js';
import { openAdmin, TARGET_HELP, TARGET_OPTIONS } from './target.js';

const HELP = `fleet rollout <command>   (each takes --data DIR or --server URL --ca FILE --credential FILE)

  fleet rollout create --release ID|PREFIX [--devices SELECTOR] [--stages 1%,10%,50%,100%]
                       [--success-threshold 95%] [--error-threshold 10%] [--min-wait 10m] [--json]
      Starts a staged rollout of a published release. SELECTOR is all (the default), type:NAME, hardware:ID or
      ids:a,b,c; only active devices whose hardware is the release's (or not known yet) are picked, each in one
      open rollout at most. Stages are cumulative shares of the devices, in a fixed random order. A stage ends
      when --success-threshold of its devices committed and --min-wait has passed since it began; the rollout
      halts by itself when more than --error-threshold of the devices offered so far failed or rolled back.
  fleet rollout list [--limit 20] [--json]
      Rollouts, newest first.
  fleet rollout status ID [--devices] [--json]
      State, stage, devices per state, each stage's devices and times, the halt reason; --devices lists each.
  fleet rollout pause ID [--json]     no new offers; devices already updating carry on
  fleet rollout resume ID [--json]    run a paused or halted rollout again (a halted one accepts its failures)
  fleet rollout abort ID [--json]     end it; devices that have not started installing are told to cancel

${TARGET_HELP}

Exit codes: 0 done, 1 refused (an unknown release or rollout, a conflict, a state that does not allow it),
2 usage error.`;

export function rolloutCommand(argv: string[]): Promise<number> {
  return dispatch(
    argv,
    {
      create,
      list,
      status,
      pause: (a) => move(a, 'pause'),
      resume: (a) => move(a, 'resume'),
      abort: (a) => move(a, 'abort'),
    },
    HELP,
  );
}

const rolloutIdArg = (text: string | undefined): number => {
  if (text === undefined || !/^[1-9]\d{0,14}$/.test(text)) throw new UsageError(`give a rollout ID\n\n${HELP}`);
  return Number(text);
};

async function create(argv: string[]): Promise<number> {
  const { values, positionals } = parseCli(
    argv,
    {
      ...TARGET_OPTIONS,
      release: { type: 'string' },
      devices: { type: 'string' },
      stages: { type: 'string' },
      'success-threshold': { type: 'string' },
      'error-threshold': { type: 'string' },
      'min-wait': { type: 'string' },
      json: { type: 'boolean' },
    },
    HELP,
  );
  if (positionals.length > 0) throw new UsageError(`unexpected ${positionals.join(' ')}\n\n${HELP}`);
  const release = required(values.release, '--release');
  if (!/^[0-9a-f]{8,64}$/.test(release))
    throw new UsageError('--release is a release id (64 hex digits) or a unique prefix of at least 8');
  const admin = openAdmin(values);
  try {
    // A prefix, as `fleet release list` shows it, names the release it is the start of (or is refused).
    const releaseId = RELEASE_ID_PATTERN.test(release) ? release : (await admin.releases.get(release)).id;
    const req = {
      releaseId,
      ...(values.devices !== undefined ? { selector: values.devices } : {}),
      ...(values.stages !== undefined ? { stages: parseStages(values.stages) } : {}),
      ...(values['success-threshold'] !== undefined
        ? { successThreshold: parsePercent(values['success-threshold'], '--success-threshold') }
        : {}),
      ...(values['error-threshold'] !== undefined
        ? { errorThreshold: parsePercent(values['error-threshold'], '--error-threshold') }
        : {}),
      ...(values['min-wait'] !== undefined ? { minWaitMs: parseDuration(values['min-wait'], '--min-wait') } : {}),
    };
    print(await admin.rollouts.create(req), values.json === true);
    return 0;
  } finally {
    admin.close();
  }
}

async function list(argv: string[]): Promise<number> {
  const { values } = parseCli(argv, { ...TARGET_OPTIONS, limit: { type: 'string' }, json: { type: 'boolean' } }, HELP);
  const limit = parsePositiveInt(values.limit, '--limit', 20, 1000);
  const admin = openAdmin(values);
  try {
    const rows = await admin.rollouts.list({ limit });
    if (values.json) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    else
      process.stdout.write(
        renderTable(
          ['ID', 'STATE', 'STAGE', 'RELEASE', 'VERSION', 'DEVICES', 'UPDATED', 'FAILED', 'CREATED'],
          rows.map((r) => [
            r.id,
            r.state,
            `${r.stage + 1}/${r.stages.length}`,
            r.releaseId.slice(0, 12),
            r.version,
            r.devices,
            r.updated,
            r.failed,
            r.createdAt,
          ]),
        ),
      );
    return 0;
  } finally {
    admin.close();
  }
}

async function status(argv: string[]): Promise<number> {
  const { values, positionals } = parseCli(
    argv,
    { ...TARGET_OPTIONS, devices: { type: 'boolean' }, json: { type: 'boolean' } },
    HELP,
  );
  const id = rolloutIdArg(positionals[0]);
  const admin = openAdmin(values);
  try {
    print(await admin.rollouts.get(id, { devices: values.devices === true }), values.json === true);
    return 0;
  } finally {
    admin.close();
  }
}

async function move(argv: string[], action: 'pause' | 'resume' | 'abort'): Promise<number> {
  const { values, positionals } = parseCli(argv, { ...TARGET_OPTIONS, json: { type: 'boolean' } }, HELP);
  const id = rolloutIdArg(positionals[0]);
  const admin = openAdmin(values);
  try {
    print(await admin.rollouts[action](id), values.json === true);
    return 0;
  } finally {
    admin.close();
  }
}

/** 600000 → 10m, 5400000 → 90m, 1500 → 1.5s: as --min-wait takes it. */
const duration = (ms: number) =>
  ms > 0 && ms % 3_600_000 === 0
    ? `${ms / 3_600_000}h`
    : ms > 0 && ms % 60_000 === 0
      ? `${ms / 60_000}m`
      : `${ms / 1000}s`;
/** A long `ids:` selector (the simulator's thousands of devices) cut for the screen; --json has it whole. */
const short = (selector: string) => (selector.length > 60 ? `${selector.slice(0, 57)}…` : selector);
const pct = (x: number) => `${Math.round(x * 1000) / 10}%`;
const time = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z'));

/** For people: the rollout, its stages and its devices per state; for machines: the view as JSON. */
function print(r: RolloutView, json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
    return;
  }
  const out: string[] = [
    `rollout ${r.id}: ${r.state}, stage ${r.stage + 1} of ${r.stages.length}`,
    `release ${r.releaseId} (${r.hardware} ${r.version}), devices ${short(r.selector)} (${r.devices})`,
    `thresholds: success ${pct(r.successThreshold)}, error ${pct(r.errorThreshold)}; minimum wait per stage ` +
      `${duration(r.minWaitMs)}`,
  ];
  if (r.haltReason) out.push(`halted: ${r.haltReason}`);
  out.push('');
  const times = new Map(r.stageTimes.map((t) => [t.stage, t]));
  out.push(
    renderTable(
      ['STAGE', 'SHARE', 'DEVICES', 'STARTED', 'ENDED'],
      r.stages.map((s, i) => [
        `${i + 1}${i === r.stage && r.state !== 'completed' ? ' *' : ''}`,
        `${s}%`,
        times.get(i)?.devices ?? Math.min(r.devices, Math.ceil((s * r.devices) / 100 - 1e-9)),
        time(times.get(i)?.startedAt ?? null),
        time(times.get(i)?.endedAt ?? null),
      ]),
    ).trimEnd(),
  );
  out.push('');
  const states = Object.entries(r.counts).filter(([, n]) => n > 0);
  out.push(renderTable(['STATE', 'DEVICES'], states).trimEnd());
  if (r.failures.length > 0) {
    out.push('');
    out.push(
      renderTable(
        ['FAILURE', 'DEVICES'],
        r.failures.map((f) => [f.reasonCode, f.devices]),
      ).trimEnd(),
    );
  }
  if (r.deviceList) {
    out.push('');
    out.push(
      renderTable(
        ['DEVICE', 'STAGE', 'STATE', 'REASON', 'UPDATED'],
        r.deviceList.map((d) => [d.deviceId, d.stage + 1, d.state, d.reasonCode, d.updatedAt]),
      ).trimEnd(),
    );
  }
  process.stdout.write(`${out.join('\n')}\n`);
}
