// Output formats: table for people, json for machines (the published report), sarif for code scanning.
import type { ExposureReport } from '../../../../shared/src/messages/exposure.js';
import { formatJson } from './json.js';
import { formatSarif, type SarifOptions } from './sarif.js';
import { formatTable } from './table.js';

export { formatJson } from './json.js';
export { formatSarif, toSarif, type SarifOptions } from './sarif.js';
export { formatTable } from './table.js';

export const FORMATS = ['table', 'json', 'sarif'] as const;
export type Format = (typeof FORMATS)[number];

export function formatReport(report: ExposureReport, format: Format, opts: SarifOptions = {}): string {
  switch (format) {
    case 'table':
      return formatTable(report);
    case 'json':
      return formatJson(report);
    case 'sarif':
      return formatSarif(report, opts);
  }
}
