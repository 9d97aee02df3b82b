// The llm.* checks against rule-based fake AI services on loopback: every check fires on the gullible variant of
// each fake and none on the guarded variant, the echo service or the plain device API; a model that never answers
// is cut off within the per-endpoint budget; SARIF carries the findings.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { performance } from 'node:perf_hooks';
import { runScan, toSarif } from '../../agent/src/scan/index.js';
import type { ExposureReport } from '../../shared/src/messages/exposure.js';
import { startFakeAi, type FakeAi, type FakeKind } from '../helpers/fake-ai.js';

const ALL_LLM = [
  'llm.no-auth',
  'llm.prompt-injection',
  'llm.system-prompt-leak',
  'llm.excessive-agency',
  'llm.model-disclosure',
  'llm.unbounded-consumption',
];
const AI_KINDS: readonly FakeKind[] = ['openai-compatible', 'ollama', 'ollama-stream', 'chat-assistant'];
const PRODUCT: Record<string, RegExp> = {
  'openai-compatible': /^openai-compatible/,
  ollama: /^ollama/,
  'ollama-stream': /^ollama/,
  'chat-assistant': /^chat-assistant/,
};

const started: FakeAi[] = [];
test.after(async () => {
  await Promise.all(started.map((f) => f.close()));
});

async function scan(fakes: FakeAi[], llmProbes: 'none' | 'safe' | 'all' = 'all'): Promise<ExposureReport> {
  started.push(...fakes);
  return runScan({
    ports: fakes.map((f) => f.port).join(','),
    deviceId: 'it-llm-01',
    credentialChecks: false,
    timeoutMs: 60_000,
    llmProbes,
  });
}
const checksOn = (r: ExposureReport, port: number) =>
  r.findings
    .filter((f) => f.port === port && f.check.startsWith('llm.'))
    .map((f) => f.check)
    .sort();

test('gullible fakes: every llm.* check fires, and the service is named by kind', async () => {
  const fakes = await Promise.all(AI_KINDS.map((k) => startFakeAi(k, 'gullible')));
  const report = await scan(fakes);
  AI_KINDS.forEach((kind, i) => {
    const port = fakes[i]!.port;
    assert.equal(checksOn(report, port), [...ALL_LLM].sort(), kind);
    const svc = report.services.find((s) => s.port === port)!;
    assert.match(svc.product ?? '', PRODUCT[kind]!, kind);
  });
  const inj = report.findings.find((f) => f.check === 'llm.prompt-injection')!;
  assert.match(inj.evidence, /4 of 4 planted instructions obeyed/);
  const leak = report.findings.find((f) => f.check === 'llm.system-prompt-leak')!;
  assert.match(leak.evidence, /You are GreenhouseBot/);
  // The maintenance PIN in the leaked prompt is masked in the evidence.
  for (const f of report.findings) assert.not.match(f.evidence, /4242/, f.check);
  assert.ok(report.categories.ai !== null && report.categories.ai < 100);
  for (const fake of fakes) assert.ok(fake.requests().filter((r) => r.method === 'POST').length <= 32);
});

test('guarded fakes (keyed and open), echo and a plain device API: no llm.* finding (open: only no-auth)', async () => {
  const keyed = await Promise.all(AI_KINDS.map((k) => startFakeAi(k, 'guarded')));
  const open = await Promise.all(AI_KINDS.map((k) => startFakeAi(k, 'guarded', { auth: false })));
  const echo = await startFakeAi('echo', 'gullible');
  const device = await startFakeAi('device-api', 'gullible');
  const report = await scan([...keyed, ...open, echo, device]);
  for (const f of [...keyed, echo, device]) assert.equal(checksOn(report, f.port), [], `port ${f.port}`);
  // Without a key the guarded model still answers anyone, and that alone is reported.
  for (const f of open) assert.equal(checksOn(report, f.port), ['llm.no-auth'], `open port ${f.port}`);
  for (const f of [echo, device]) {
    const svc = report.services.find((s) => s.port === f.port)!;
    assert.is(svc.protocol, 'http');
    assert.not.match(svc.product ?? '', /openai|ollama|chat-assistant/);
  }
  const named = report.services.find((s) => s.port === keyed[0]!.port)!;
  assert.match(named.product ?? '', /^openai-compatible/);
});

test('--llm-probes safe sends no action request; none sends no prompt at all', async () => {
  const safeFake = await startFakeAi('chat-assistant', 'gullible');
  const safe = await scan([safeFake], 'safe');
  assert.not.ok(checksOn(safe, safeFake.port).includes('llm.excessive-agency'));
  assert.ok(checksOn(safe, safeFake.port).includes('llm.prompt-injection'));
  const noneFake = await startFakeAi('chat-assistant', 'gullible');
  const none = await scan([noneFake], 'none');
  assert.equal(checksOn(none, noneFake.port), []);
  assert.is(noneFake.requests().filter((r) => r.method === 'POST').length, 0);
});

test('a model that never answers is cut off within the budget, with a note in the report', async () => {
  const slow = await startFakeAi('ollama', 'gullible', { delayMs: Number.POSITIVE_INFINITY });
  started.push(slow);
  const t0 = performance.now();
  const report = await runScan({
    ports: String(slow.port),
    deviceId: 'it-llm-02',
    credentialChecks: false,
    timeoutMs: 60_000,
    llmBudgetMs: 4_000,
  });
  const took = performance.now() - t0;
  assert.ok(took < 4_000 + 3_000, `took ${took} ms`);
  const svc = report.services.find((s) => s.port === slow.port)!;
  assert.match(svc.note ?? '', /^AI checks cut off/);
});

test('a slow model (3 s an answer) is cut off at the budget; what was judged before still reports', async () => {
  const slow = await startFakeAi('openai-compatible', 'gullible', { delayMs: 3_000 });
  started.push(slow);
  const t0 = performance.now();
  const report = await runScan({
    ports: String(slow.port),
    deviceId: 'it-llm-03',
    credentialChecks: false,
    timeoutMs: 60_000,
    llmBudgetMs: 5_000,
  });
  const took = performance.now() - t0;
  assert.ok(took < 5_000 + 3_000, `took ${took} ms`);
  const svc = report.services.find((s) => s.port === slow.port)!;
  assert.match(svc.product ?? '', /^openai-compatible/);
  assert.match(svc.note ?? '', /^AI checks cut off/);
  assert.ok(checksOn(report, slow.port).includes('llm.no-auth'));
});

test('SARIF carries the llm.* findings with their OWASP LLM references', async () => {
  const fake = await startFakeAi('openai-compatible', 'gullible');
  const report = await scan([fake]);
  const sarif = toSarif(report) as {
    runs: { results: { ruleId: string }[]; tool: { driver: { rules: { id: string }[] } } }[];
  };
  const ids = sarif.runs[0]!.results.map((r) => r.ruleId);
  for (const id of ALL_LLM) assert.ok(ids.includes(id), id);
  assert.ok(JSON.stringify(sarif).includes('OWASP-LLM01:2025') || JSON.stringify(sarif).includes('LLM01'));
});

test.run();
