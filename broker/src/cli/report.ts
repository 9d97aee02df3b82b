// fleet report DEVICE and fleet posture: exposure reports as the fleet sees them.
import { assertDeviceId, parseCli, parsePositiveInt, required, UsageError } from '../../../shared/src/index.js';
import { createExposureStore } from '../db/exposure.js';
import { createRegistry } from '../db/registry.js';
import { FleetError } from '../errors.js';
import { openFleetDb } from '../fleet/data-dir.js';
import { renderTable } from './table.js';

const REPORT_HELP = `fleet report DEVICE --data DIR [--history 20] [--json]

Shows the device's latest exposure report (score, grade, sub-scores, services, findings with evidence and
remediation) and its score history. --json prints {"latest": <report>, "receivedAt", "history": [...]}.`;

const POSTURE_HELP = `fleet posture --data DIR [--worst 10] [--json]

Shows the fleet's exposure posture from each device's latest report: grade distribution, average score, the
worst devices and the most widespread findings.`;

export async function reportCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCli(
    argv,
    { data: { type: 'string' }, json: { type: 'boolean' }, history: { type: 'string' } },
    REPORT_HELP,
  );
  if (positionals.length !== 1) throw new UsageError(`give one DEVICE\n\n${REPORT_HELP}`);
  let id: string;
  try {
    id = assertDeviceId(positionals[0]);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const db = openFleetDb(required(values.data, '--data'), { readonly: false });
  try {
    if (!createRegistry(db).exists(id)) throw new FleetError('FLEET_DEVICE_UNKNOWN', `no device ${id} is registered`);
    const store = createExposureStore(db);
    const latest = store.latest(id);
    const history = store.history(id, parsePositiveInt(values.history, '--history', 20));
    if (values.json) {
      const out = { deviceId: id, latest: latest?.report ?? null, receivedAt: latest?.receivedAt ?? null, history };
      process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
      return 0;
    }
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
        history.map((h) => [h.at, h.score, h.grade, h.findings]),
      ),
    );
    return 0;
  } finally {
    db.close();
  }
}

export async function postureCommand(argv: string[]): Promise<number> {
  const { values } = parseCli(
    argv,
    { data: { type: 'string' }, json: { type: 'boolean' }, worst: { type: 'string' } },
    POSTURE_HELP,
  );
  const db = openFleetDb(required(values.data, '--data'));
  try {
    const p = createExposureStore(db).posture(parsePositiveInt(values.worst, '--worst', 10));
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
    db.close();
  }
}
