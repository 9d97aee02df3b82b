// Exposure scanner error codes (SCAN_*), listed in docs/errors.md; agent/src/errors.ts re-exports them.
import { defineCodes, EdgewardError } from '../../../shared/src/errors.js';

export const scanCodes = defineCodes({
  SCAN_TARGET_REMOTE:
    "The scan target is not one of this host's own addresses; scan only hosts you are authorised to test, and " +
    'pass --allow-remote to do so.',
  SCAN_TARGET_UNRESOLVED: 'The scan target host name does not resolve to any address.',
  SCAN_DISCOVERY_FAILED:
    'Listening sockets cannot be read from /proc/net (not Linux, or /proc is hidden); pass --ports with ' +
    'an explicit list instead.',
  SCAN_OUTPUT_FAILED: 'The scan report cannot be written to the --out file (missing folder, permissions or disk full).',
  SCAN_REPORT_INVALID:
    'The scanner built a report that fails the exposure schema; this is a bug, please report it with the details.',
});
export type ScanCode = keyof typeof scanCodes;

export class ScanError extends EdgewardError {
  declare readonly code: ScanCode;
  constructor(code: ScanCode, message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(code, message, options);
  }
}
