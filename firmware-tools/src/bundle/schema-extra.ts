// Schema pieces the shared validator lacks: integers that cbor-x may decode as BigInt, and lists of keys.
import type { Issue, Schema } from '../../../shared/src/schema.js';

/** An unsigned integer up to 2^53-1, whether cbor-x decoded it as a number or (from 8-byte heads) a BigInt. */
export function uint(opts: { min?: number; max?: number } = {}): Schema<number> {
  const min = opts.min ?? 0;
  const max = opts.max ?? Number.MAX_SAFE_INTEGER;
  return {
    describe: `integer ${min}..${max}`,
    check(v: unknown, path: string, issues: Issue[]): number {
      const n = typeof v === 'bigint' && v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= 0n ? Number(v) : v;
      if (typeof n !== 'number' || !Number.isSafeInteger(n)) {
        issues.push({
          path,
          message: `expected an integer, got ${typeof v === 'bigint' ? 'a too large integer' : typeof v}`,
        });
        return 0;
      }
      if (n < min || n > max) issues.push({ path, message: `${n} is outside ${min}..${max}` });
      return n;
    },
  };
}
