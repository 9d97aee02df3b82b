// SARIF output validated against the SARIF 2.1.0 JSON schema (the OASIS 2.1.0 rtm.5 schema shipped by
// @microsoft/jest-sarif), plus the properties GitHub code scanning relies on.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CHECK_IDS, sampleReport, toSarif } from '../../agent/src/scan/index.js';
import { sarifValidator } from '../fixtures/scan/sarif-validator.js';

function rng(seed: number) {
  return () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
}

test('SARIF for many sample reports is valid SARIF 2.1.0', () => {
  const validate = sarifValidator();
  for (let s = 1; s <= 40; s++) {
    const doc = JSON.parse(
      JSON.stringify(toSarif(sampleReport('gw-0001', rng(s), { now: Date.parse('2026-06-01T00:00:00Z') }))),
    );
    assert.equal(validate(doc), [], `seed ${s}`);
  }
});

test('the validator is not a rubber stamp', () => {
  const validate = sarifValidator();
  const doc = toSarif(sampleReport('gw-0001', rng(3))) as { version: string; runs: { results: unknown[] }[] };
  assert.ok(validate({ ...doc, version: '2.0.0' }).length > 0);
  assert.ok(validate({ ...doc, runs: [{ ...doc.runs[0], results: [{ level: 'fatal' }] }] }).length > 0);
});

test('one rule per catalogue check; results carry ruleIndex, level, location and a fingerprint', () => {
  const report = sampleReport('gw-0003', rng(11));
  // biome-ignore lint/suspicious/noExplicitAny: SARIF is a deep JSON document; the assertions below check its shape
  const run = (toSarif(report) as { runs: Record<string, any>[] }).runs[0]!;
  assert.equal(
    run.tool.driver.rules.map((r: { id: string }) => r.id),
    [...CHECK_IDS],
  );
  for (const r of run.tool.driver.rules) assert.match(r.properties['security-severity'], /^\d+\.\d$/);
  assert.is(run.results.length, report.findings.length);
  for (const [i, res] of run.results.entries()) {
    const f = report.findings[i]!;
    assert.is(run.tool.driver.rules[res.ruleIndex].id, f.check);
    assert.is(
      res.level,
      { critical: 'error', high: 'error', medium: 'warning', low: 'note', info: 'note' }[f.severity],
    );
    assert.is(res.locations[0].physicalLocation.artifactLocation.uri, `exposure/${f.transport}/${f.port}`);
    assert.match(res.partialFingerprints['edgewardFinding/v1'], /^[0-9a-f]{32}$/);
  }
  assert.equal(
    [run.properties.score, run.properties.grade, run.properties.findingsCount],
    [report.score, report.grade, report.findings.length],
  );
});

test.run();
