// Public face of the exposure scanner: run a scan, score findings, the check catalogue, and the formatters.
export { runScan, defaultDeviceId, SCAN_DEFAULTS, type ScanOptions } from './scanner.js';
export { scanCommand, parseScanArgs, SCAN_HELP, EXIT_BELOW_THRESHOLD } from './cli.js';
export { buildReport, sortFindings, type ReportInput } from './report.js';
export {
  scoreFindings,
  gradeFor,
  SCORING_VERSION,
  SEVERITY_WEIGHT,
  CRITICAL_CAP,
  GRADE_BANDS,
  MAX_COUNTED_PER_CHECK,
  type Score,
  type ScoredFinding,
  type CategoryScores,
} from './score.js';
export { CHECKS, CHECK_IDS, checkDefinition, type CheckDefinition } from './catalogue.js';
export { REFERENCES, type Reference, type ReferenceId } from './references.js';
export {
  formatReport,
  formatTable,
  formatJson,
  formatSarif,
  toSarif,
  FORMATS,
  type Format,
  type SarifOptions,
} from './format/index.js';
export { sampleReport, type Rng, type SampleOptions } from './sample-report.js';
export { discoverListening } from './discovery/index.js';
export { parsePortList, type PortSpec } from './targets.js';
export { defaultEnv, type ScanEnv } from './env.js';
export { scanCodes, ScanError, type ScanCode } from './errors.js';
export type { ListeningService, ProbeTarget } from './types.js';
