// JSON output: exactly the exposure report the agent publishes (in CBOR) on fleet/v1/{id}/exposure.
import type { ExposureReport } from '../../../../shared/src/messages/exposure.js';

export function formatJson(report: ExposureReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}
