// fleet report DEVICE and fleet posture: exposure reports as the fleet sees them.
import { deviceIdArg, parseCli, parsePositiveInt, UsageError } from '../../../shared/src/index.js';
import { MAX_HISTORY, MAX_POSTURE_DAYS } from '../admin/local-reports.js';
import { renderTable } from './table.js';
import { openAdmin, TARGET_HELP, TARGET_OPTIONS } from './target.js';

const REPORT_HELP = `fleet report DEVICE (--data DIR | --server URL …) [--history 20] [--json]

Shows the device's latest exposure report (score, grade, sub-scores, services, findings with evidence and
remediation) and its score history (at most ${MAX_HISTORY}). --json prints {"latest": <report>, "receivedAt",
"history": [...]}.

${TARGET_HELP}`;

const POSTURE_HELP = `fleet posture (--data DIR | --server URL …) [--worst 10] [--json]
fleet posture --history DAYS (--data DIR | --server URL …) [--json]

Shows the fleet's exposure posture from each device's latest report: grade distribution, average score, the
worst devices and the most widespread findings. --history DAYS shows it per UTC day instead, for the last DAYS
days (at most ${MAX_POSTURE_DAYS}): devices reporting, average score and grades, each device counted by its
latest report as of that day.

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
    { ...TARGET_OPTIONS, json: { type: 'boolean' }, worst: { type: 'string' }, history: { type: 'string' } },
    POSTURE_HELP,
  );
  if (values.history !== undefined && values.worst !== undefined) {
    throw new UsageError('give either --worst N or --history DAYS, not both');
  }
  const worst = parsePositiveInt(values.worst, '--worst', 10, MAX_HISTORY);
  const days =
    values.history === undefined ? undefined : parsePositiveInt(values.history, '--history', 30, MAX_POSTURE_DAYS);
  const admin = openAdmin(values);
  try {
    if (days !== undefined) {
      const history = await admin.reports.postureHistory({ days });
      if (values.json) {
        process.stdout.write(`${JSON.stringify(history, null, 2)}\n`);
        return 0;
      }
      process.stdout.write(
        renderTable(
          ['DAY', 'DEVICES', 'AVERAGE', 'A', 'B', 'C', 'D', 'F'],
          history.map((d) => [
            d.day,
            d.devices,
            d.averageScore,
            d.grades.A,
            d.grades.B,
            d.grades.C,
            d.grades.D,
            d.grades.F,
          ]),
        ),
      );
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
