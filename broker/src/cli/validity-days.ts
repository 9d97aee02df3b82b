// Certificate validity options (--days, --ca-days, --server-days): whole days, bounded so that notAfter stays a date
// an X.509 certificate can carry (a huge value made an unparseable certificate and an INTERNAL error).
import { parsePositiveInt, UsageError } from '../../../shared/src/index.js';

/** 100 years: more than any CA here should live, far below the year 9999 that X.509 time can hold. */
export const MAX_VALIDITY_DAYS = 36_500;

export function parseValidityDays(
  text: string | undefined,
  flag: string,
  fallback: number,
  max = MAX_VALIDITY_DAYS,
): number {
  // In days, as the option says (parsePositiveInt's own bound would not name the unit).
  const days = parsePositiveInt(text, flag, fallback);
  if (days > max) throw new UsageError(`${flag} must be at most ${max} days, got ${days}`);
  return days;
}
