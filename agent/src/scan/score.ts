// The exposure score, version 1: 100 minus per-check deductions by severity, with a cap on critical findings.
// docs/scoring.md documents this formula with worked examples; change SCORING_VERSION with any change here.
import type { Category, Grade, Severity } from '../../../shared/src/messages/exposure.js';

export const SCORING_VERSION = 1;

/** Points deducted for the first finding of a check, by severity. */
export const SEVERITY_WEIGHT: Readonly<Record<Severity, number>> = Object.freeze({
  critical: 30,
  high: 16,
  medium: 6,
  low: 2,
  info: 0,
});
/** Further findings of the same check deduct half their weight; at most this many count in all. */
export const MAX_COUNTED_PER_CHECK = 3;
/** Highest score (and so grade F) while any critical finding is present. */
export const CRITICAL_CAP = 59;

/** Lower bound of each grade band, best first. */
export const GRADE_BANDS: readonly (readonly [Grade, number])[] = [
  ['A', 90],
  ['B', 80],
  ['C', 70],
  ['D', 60],
  ['F', 0],
];

export interface ScoredFinding {
  readonly check: string;
  readonly severity: Severity;
  readonly category: Category;
}

export interface CategoryScores {
  transport: number;
  authentication: number;
  exposure: number;
  configuration: number;
  /** null: no AI-surface checks exist yet. */
  ai: number | null;
}

export interface Score {
  readonly scoringVersion: number;
  readonly score: number;
  readonly grade: Grade;
  readonly categories: CategoryScores;
  /** Points deducted per check id (before the cap), for explanations. */
  readonly deductions: Readonly<Record<string, number>>;
}

export function gradeFor(score: number): Grade {
  for (const [grade, min] of GRADE_BANDS) if (score >= min) return grade;
  return 'F';
}

/**
 * Deductions per check id. Within a check the findings are sorted by weight, heaviest first, so the order the
 * findings arrive in never changes the result.
 */
function deductionsOf(findings: readonly ScoredFinding[]): Map<string, number> {
  const byCheck = new Map<string, number[]>();
  for (const f of findings) {
    const list = byCheck.get(f.check) ?? [];
    list.push(SEVERITY_WEIGHT[f.severity]);
    byCheck.set(f.check, list);
  }
  const out = new Map<string, number>();
  for (const [check, weights] of byCheck) {
    weights.sort((a, b) => b - a);
    let sum = 0;
    weights.slice(0, MAX_COUNTED_PER_CHECK).forEach((w, i) => {
      sum += i === 0 ? w : w / 2;
    });
    out.set(check, sum);
  }
  return out;
}

function scoreOf(findings: readonly ScoredFinding[]): number {
  let total = 0;
  for (const d of deductionsOf(findings).values()) total += d;
  let score = Math.max(0, Math.round(100 - total));
  if (findings.some((f) => f.severity === 'critical')) score = Math.min(score, CRITICAL_CAP);
  return score;
}

/** Scores a set of findings: the same findings always give the same score, in any order. */
export function scoreFindings(findings: readonly ScoredFinding[]): Score {
  const score = scoreOf(findings);
  const inCategory = (c: Category) => scoreOf(findings.filter((f) => f.category === c));
  const hasAi = findings.some((f) => f.category === 'ai');
  return {
    scoringVersion: SCORING_VERSION,
    score,
    grade: gradeFor(score),
    categories: {
      transport: inCategory('transport'),
      authentication: inCategory('authentication'),
      exposure: inCategory('exposure'),
      configuration: inCategory('configuration'),
      ai: hasAi ? inCategory('ai') : null,
    },
    deductions: Object.fromEntries(deductionsOf(findings)),
  };
}
