// SARIF 2.1.0 output (OASIS SARIF v2.1.0) for code-scanning tools: one rule per catalogue check, one result per
// finding. A network finding has no source file, so each result points at a stable pseudo-path per port
// ("exposure/tcp/1883") plus a logical location naming the socket; GitHub needs a location on every result.
import { createHash } from 'node:crypto';
import type { ExposureFinding, ExposureReport, Severity } from '../../../../shared/src/messages/exposure.js';
import { CHECK_IDS, checkDefinition, type CheckDefinition } from '../catalogue.js';
import { REFERENCES, type ReferenceId } from '../references.js';

export const SARIF_SCHEMA = 'https://json.schemastore.org/sarif-2.1.0.json';
export const TOOL_NAME = 'edgeward-exposure-scan';

type Level = 'error' | 'warning' | 'note';

const LEVEL: Readonly<Record<Severity, Level>> = {
  critical: 'error',
  high: 'error',
  medium: 'warning',
  low: 'note',
  info: 'note',
};
/** GitHub reads properties["security-severity"] (0.0–10.0) to rank alerts as critical/high/medium/low. */
const SECURITY_SEVERITY: Readonly<Record<Severity, string>> = {
  critical: '9.5',
  high: '8.0',
  medium: '5.5',
  low: '3.0',
  info: '0.0',
};

/** PascalCase rule name from a check id, as SARIF §3.49.7 suggests for reportingDescriptor.name. */
const ruleName = (id: string) =>
  id
    .split(/[.-]/)
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join('');

function rule(def: CheckDefinition) {
  const refs = def.references.map((r: ReferenceId) => REFERENCES[r]);
  return {
    id: def.id,
    name: ruleName(def.id),
    shortDescription: { text: def.title },
    fullDescription: { text: def.description },
    help: {
      text:
        `${def.remediation}\n\nEvidence: ${def.evidence}\n\nReferences: ` +
        `${refs.map((r) => `${r.title} <${r.url}>`).join('; ')}`,
      markdown:
        `${def.remediation}\n\n**Evidence:** ` +
        `${def.evidence}\n\n**References:**\n${refs.map((r) => `- [${r.title}](${r.url})`).join('\n')}`,
    },
    helpUri: refs[0]!.url,
    defaultConfiguration: { level: LEVEL[def.severity] },
    properties: {
      tags: [...new Set(['security', 'exposure', def.category, ...def.references])],
      'security-severity': SECURITY_SEVERITY[def.severity],
      precision: 'high',
    },
  };
}

const fingerprint = (report: ExposureReport, f: ExposureFinding) =>
  createHash('sha256').update(`${report.deviceId}|${f.check}|${f.transport}|${f.port}`).digest('hex').slice(0, 32);

export interface SarifOptions {
  /** driver.version; the agent passes its own version. */
  readonly toolVersion?: string;
}

export function toSarif(report: ExposureReport, opts: SarifOptions = {}): Record<string, unknown> {
  const index = new Map(CHECK_IDS.map((id, i) => [id, i]));
  return {
    $schema: SARIF_SCHEMA,
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: TOOL_NAME,
            version: opts.toolVersion ?? '0.1.0',
            rules: CHECK_IDS.map((id) => rule(checkDefinition(id))),
          },
        },
        automationDetails: { id: `${TOOL_NAME}/${report.deviceId}/` },
        invocations: [
          {
            executionSuccessful: !report.scan.timedOut,
            endTimeUtc: new Date(report.ts + report.scan.durationMs).toISOString(),
          },
        ],
        results: report.findings.map((f) => ({
          ruleId: f.check,
          ...(index.has(f.check) ? { ruleIndex: index.get(f.check)! } : {}),
          level: LEVEL[f.severity],
          message: { text: `${f.title} (${f.transport}/${f.port}, ${f.severity}). ${f.evidence}` },
          locations: [
            {
              physicalLocation: {
                artifactLocation: { uri: `exposure/${f.transport}/${f.port}` },
                region: { startLine: 1 },
              },
              logicalLocations: [
                {
                  name: `${f.transport}/${f.port}`,
                  fullyQualifiedName: `${report.scan.target}/${f.transport}/${f.port}`,
                  kind: 'resource',
                },
              ],
            },
          ],
          partialFingerprints: { 'edgewardFinding/v1': fingerprint(report, f) },
          properties: {
            severity: f.severity,
            category: f.category,
            'security-severity': SECURITY_SEVERITY[f.severity],
            remediation: f.remediation,
            references: f.references,
          },
        })),
        properties: {
          deviceId: report.deviceId,
          score: report.score,
          grade: report.grade,
          scoringVersion: report.scoringVersion,
          categories: report.categories,
          findingsCount: report.findings.length,
          servicesCount: report.services.length,
        },
      },
    ],
  };
}

export function formatSarif(report: ExposureReport, opts: SarifOptions = {}): string {
  return `${JSON.stringify(toSarif(report, opts), null, 2)}\n`;
}
