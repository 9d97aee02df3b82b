// Table output for people: the score, the services, the findings, then each finding's evidence and fix.
import type { ExposureReport } from '../../../../shared/src/messages/exposure.js';

function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows
    .map((r) =>
      r
        .map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

const portOf = (transport: string, port: number) => `${transport}/${port}`;

export function formatTable(report: ExposureReport): string {
  const c = report.categories;
  const when = new Date(report.ts).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const out: string[] = [
    `edgeward exposure scan of ${report.scan.target} — ${report.deviceId} — ${when} — ` +
      `${(report.scan.durationMs / 1000).toFixed(1)} s`,
    `Score ${report.score}/100, grade ${report.grade} (scoring v${report.scoringVersion})`,
    `  transport ${c.transport} · authentication ${c.authentication} · exposure ${c.exposure} · configuration ` +
      `${c.configuration} · ai ${c.ai ?? 'n/a'}`,
  ];
  const notes = [
    report.scan.timedOut ? 'the time budget ran out before every probe finished' : '',
    report.scan.truncated ? 'some low-severity findings were left out to fit the report size limit' : '',
    report.scan.credentialChecks ? '' : 'default-credential checks were off',
  ].filter(Boolean);
  if (notes.length) out.push(`  note: ${notes.join('; ')}`);
  out.push('', `SERVICES (${report.services.length})`);
  if (report.services.length) {
    out.push(
      table([
        ['PORT', 'PROTOCOL', 'TLS', 'BIND', 'PROCESS', 'PRODUCT'],
        ...report.services.map((s) => [
          portOf(s.transport, s.port),
          s.protocol,
          s.tls ? 'yes' : 'no',
          `${s.bind}${s.loopbackOnly ? '' : ' (exposed)'}`,
          s.process ? `${s.process.name} (${s.process.pid})` : '-',
          s.note ? `${s.product ?? ''} [${s.note}]`.trim() : (s.product ?? ''),
        ]),
      ]),
    );
  } else out.push('none found');
  out.push('', `FINDINGS (${report.findings.length})`);
  if (report.findings.length === 0) {
    out.push('none');
    return `${out.join('\n')}\n`;
  }
  out.push(
    table([
      ['SEVERITY', 'CHECK', 'PORT', 'TITLE'],
      ...report.findings.map((f) => [f.severity, f.check, portOf(f.transport, f.port), f.title]),
    ]),
  );
  out.push('', 'DETAILS');
  for (const f of report.findings) {
    out.push(
      '',
      `[${f.severity}] ${f.check} on ${portOf(f.transport, f.port)}: ${f.title}`,
      `  evidence:    ${f.evidence}`,
      `  remediation: ${f.remediation}`,
      `  references:  ${f.references.join(', ')}`,
    );
  }
  return `${out.join('\n')}\n`;
}
