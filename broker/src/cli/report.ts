// fleet report DEVICE and fleet posture: exposure reports as the fleet sees them.
import { deviceIdArg, parseCli, parsePositiveInt, UsageError } from '../../../shared/src/index.js';
import { MAX_HISTORY } from '../admin/local-reports.js';
import { posturePeriodsOption, printPostureHistory } from './posture-history.js';
import { renderTable } from './table.js';
import { openAdmin, TARGET_HELP, TARGET_OPTIONS } from './target.js';

const REPORT_HELP = `fleet report DEVICE (--data DIR | --server URL …) [--history 20] [--json]

Shows the device's latest exposure report (score, grade, sub-scores, services, findings with evidence and
remediation) and its score history (at most ${MAX_HISTORY}). --json prints {"latest": <report>, "receivedAt",
"history": [...]}.

${TARGET_HELP}`;

const POSTURE_HELP = `fleet posture (--data DIR | --server URL …) [--worst 10] [--json]
fleet posture --since 30d|48h|ISO [--resolution day|hour] (--data DIR | --server URL …) [--json]

Shows the fleet's exposure posture from each device's latest report: grade distribution, average score, the
worst devices and the most widespread findings.

--since shows the trend instead: one line per UTC day (or hour) from the one holding --since through the current
one, marked *, as it stands so far. Each line counts the active devices by their latest report as of the
period's end: DEVICES, of them REPORTING within the period, their average score and grades. --since takes a
duration (7d, 48h) or an ISO 8601 time; days go back at most 366d, hours 168h. --resolution defaults to day
from 3d on, hour below. --json prints {"resolution", "periods": [...]}, as GET /api/v1/posture/history.

${TARGET_HELP}`;

export async function reportCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCli(
    argv,
    { ...TARGET_OPTIONS, json: { type: 'boolean' }, history: { type: 'string' } },
    REPORT_HELP,
  );
  if (positionals.length !== 1) throw new UsageError(`give one DEVICE\n\n${REPORT_HELP}`);
  const id = deviceIdArg(positionals[0]!);
  const history = parsePositiveInt(values.history, '--history', 20, MAX_HISTORY);
  const admin = openAdmin(values);
  try {
    const out = await admin.reports.report(id, { history });
    if (values.json) {
      process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
      return 0;
    }
    const latest = out.latest === null ? undefined : { report: out.latest, receivedAt: out.receivedAt };
    if (!latest) {
      process.stdout.write(`${id} has not sent an exposure report yet\n`);
      return 0;
    }
    const r = latest.report;
    const c = r.categories;
    process.stdout.write(
      `${id}: score ${r.score}/100, grade ${r.grade} (scoring v${r.scoringVersion}), received ${latest.receivedAt}\n` +
        `  transport ${c.transport}  authentication ${c.authentication}  exposure ${c.exposure}  configuration ` +
        `${c.configuration}  ai ${c.ai ?? '-'}\n\n`,
    );
    if (r.services.length) {
      process.stdout.write(
        `${renderTable(
          ['PORT', 'PROTO', 'BIND', 'TLS', 'PROCESS'],
          r.services.map((s) => [
            `${s.port}/${s.transport}`,
            s.protocol,
            s.bind,
            s.tls ? 'yes' : 'no',
            s.process?.name,
          ]),
        )}\n`,
      );
    }
    if (r.findings.length) {
      process.stdout.write(
        `${renderTable(
          ['SEVERITY', 'CHECK', 'PORT', 'TITLE'],
          r.findings.map((f) => [f.severity.toUpperCase(), f.check, f.port, f.title]),
        )}\n`,
      );
      for (const f of r.findings)
        process.stdout.write(
          `${f.check} (port ${f.port})\n  evidence:    ${f.evidence}\n  remediation: ${f.remediation}\n`,
        );
      process.stdout.write('\n');
    }
    process.stdout.write(
      renderTable(
        ['RECEIVED', 'SCORE', 'GRADE', 'FINDINGS'],
        out.history.map((h) => [h.at, h.score, h.grade, h.findings]),
      ),
    );
    return 0;
  } finally {
    admin.close();
  }
}

export async function postureCommand(argv: string[]): Promise<number> {
  const { values } = parseCli(
    argv,
    {
      ...TARGET_OPTIONS,
      json: { type: 'boolean' },
      worst: { type: 'string' },
      since: { type: 'string' },
      resolution: { type: 'string' },
    },
    POSTURE_HELP,
  );
  if (values.since !== undefined && values.worst !== undefined) {
    throw new UsageError('give either --worst N or --since, not both');
  }
  if (values.since === undefined && values.resolution !== undefined) {
    throw new UsageError('--resolution goes with --since (the trend over time)');
  }
  const worst = parsePositiveInt(values.worst, '--worst', 10, MAX_HISTORY);
  const periods =
    values.since === undefined ? undefined : posturePeriodsOption(values.since, values.resolution, Date.now());
  const admin = openAdmin(values);
  try {
    if (periods !== undefined) {
      const history = await admin.reports.postureHistory(periods);
      if (values.json) process.stdout.write(`${JSON.stringify(history, null, 2)}\n`);
      else printPostureHistory(history);
      return 0;
    }
    const p = await admin.reports.posture({ worst });
    if (values.json) {
      process.stdout.write(`${JSON.stringify(p, null, 2)}\n`);
      return 0;
    }
    if (p.devices === 0) {
      process.stdout.write(`no exposure reports yet (${p.unreported} active devices without one)\n`);
      return 0;
    }
    const bar = (n: number) => '#'.repeat(Math.round((n / p.devices) * 40));
    process.stdout.write(
      `fleet posture: ${p.devices} devices reporting, average score ${p.averageScore}, ${p.unreported} active ` +
        `devices without a report\n\n`,
    );
    for (const [g, n] of Object.entries(p.grades))
      process.stdout.write(`  ${g}  ${String(n).padStart(6)}  ${bar(n)}\n`);
    process.stdout.write(
      `\nworst devices:\n${renderTable(
        ['DEVICE', 'SCORE', 'GRADE', 'FINDINGS', 'REPORTED'],
        p.worst.map((w) => [w.deviceId, w.score, w.grade, w.findings, w.at]),
      )}`,
    );
    process.stdout.write(
      `\nmost widespread findings:\n${renderTable(
        ['CHECK', 'SEVERITY', 'DEVICES'],
        p.commonFindings.map((f) => [f.check, f.severity, f.devices]),
      )}`,
    );
    return 0;
  } finally {
    admin.close();
  }
}
