// Builds the exposure report: deterministic order, the score over all findings, trimmed to the wire limits,
// and checked against the shared schema before anyone sees it.
import { encode } from '../../../shared/src/cbor.js';
import {
  exposureSchema,
  MAX_EXPOSURE_BYTES,
  MAX_FINDINGS,
  MAX_SERVICES,
  SEVERITIES,
  type ExposureFinding,
  type ExposureReport,
  type ExposureService,
} from '../../../shared/src/messages/exposure.js';
import { formatIssues, validate } from '../../../shared/src/schema.js';
import { ScanError } from './errors.js';
import { scoreFindings } from './score.js';

export interface ReportInput {
  readonly id: string;
  readonly ts: number;
  readonly deviceId: string;
  readonly target: string;
  readonly durationMs: number;
  readonly timedOut: boolean;
  readonly credentialChecks: boolean;
  readonly services: readonly ExposureService[];
  readonly findings: readonly ExposureFinding[];
}

const rank = (s: ExposureFinding['severity']) => SEVERITIES.indexOf(s);

/** Most severe first, then by port, check and transport: the same findings always come out in the same order. */
export function sortFindings(findings: readonly ExposureFinding[]): ExposureFinding[] {
  return [...findings].sort(
    (a, b) =>
      rank(a.severity) - rank(b.severity) ||
      a.port - b.port ||
      a.check.localeCompare(b.check) ||
      a.transport.localeCompare(b.transport),
  );
}

/** One finding per check, port and transport (the first wins). */
function dedupe(findings: readonly ExposureFinding[]): ExposureFinding[] {
  const seen = new Set<string>();
  return findings.filter((f) => {
    const key = `${f.check}|${f.transport}|${f.port}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

export function buildReport(input: ReportInput): ExposureReport {
  const all = sortFindings(dedupe(input.findings));
  const score = scoreFindings(all);
  const services = [...input.services]
    .sort((a, b) => a.transport.localeCompare(b.transport) || a.port - b.port)
    .slice(0, MAX_SERVICES);
  let findings = all.slice(0, MAX_FINDINGS);
  let truncated = findings.length < all.length || services.length < input.services.length;
  const make = (): ExposureReport => ({
    v: 1,
    id: input.id,
    ts: input.ts,
    deviceId: input.deviceId,
    scoringVersion: score.scoringVersion,
    score: score.score,
    grade: score.grade,
    categories: score.categories,
    scan: {
      target: input.target,
      durationMs: Math.max(0, Math.round(input.durationMs)),
      timedOut: input.timedOut,
      credentialChecks: input.credentialChecks,
      truncated,
    },
    services,
    findings,
  });
  let report = make();
  // Drop the least severe findings until the CBOR form fits; the score above still counts them all.
  while (findings.length > 0 && encode(report).length > MAX_EXPOSURE_BYTES) {
    findings = findings.slice(0, Math.floor(findings.length * 0.9));
    truncated = true;
    report = make();
  }
  const result = validate(exposureSchema, report);
  if (!result.ok) {
    throw new ScanError(
      'SCAN_REPORT_INVALID',
      `the scan report fails its schema: ${formatIssues(result.issues).slice(0, 2000)}`,
      { details: { issues: result.issues.slice(0, 20) } },
    );
  }
  return report;
}
