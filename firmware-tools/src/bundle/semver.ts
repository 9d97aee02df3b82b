// Semantic versions (semver.org 2.0.0): validation and precedence, for firmware and minimum agent versions.

// The regular expression published on semver.org, §"Is there a suggested regular expression".
// Built from its parts (the same text) so that each line stays readable.
const NUM = '(0|[1-9]\\d*)';
const PRE_ID = '(?:0|[1-9]\\d*|\\d*[a-zA-Z-][0-9a-zA-Z-]*)';
const PRE = `(?:-(${PRE_ID}(?:\\.${PRE_ID})*))?`;
const BUILD = '(?:\\+([0-9a-zA-Z-]+(?:\\.[0-9a-zA-Z-]+)*))?';
export const SEMVER = new RegExp(`^${NUM}\\.${NUM}\\.${NUM}${PRE}${BUILD}$`);

export function isSemver(text: string): boolean {
  return text.length <= 128 && SEMVER.test(text);
}

/** Compares by semver precedence (§11): negative when a < b, 0 when equal (build metadata ignored). */
export function compareSemver(a: string, b: string): number {
  const pa = SEMVER.exec(a);
  const pb = SEMVER.exec(b);
  if (!pa || !pb) throw new TypeError(`not a semantic version: ${JSON.stringify(pa ? b : a)}`);
  for (let i = 1; i <= 3; i++) {
    const d = BigInt(pa[i]!) - BigInt(pb[i]!);
    if (d !== 0n) return d < 0n ? -1 : 1;
  }
  const ra = pa[4];
  const rb = pb[4];
  // a release outranks its pre-releases
  if (ra === undefined || rb === undefined) return ra === rb ? 0 : ra === undefined ? 1 : -1;
  const xa = ra.split('.');
  const xb = rb.split('.');
  for (let i = 0; i < Math.max(xa.length, xb.length); i++) {
    const x = xa[i];
    const y = xb[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    const nx = /^\d+$/.test(x);
    const ny = /^\d+$/.test(y);
    if (nx && ny) {
      const d = BigInt(x) - BigInt(y);
      if (d !== 0n) return d < 0n ? -1 : 1;
    } else if (nx !== ny) {
      return nx ? -1 : 1; // numeric identifiers have lower precedence
    } else if (x !== y) {
      return x < y ? -1 : 1;
    }
  }
  return 0;
}
