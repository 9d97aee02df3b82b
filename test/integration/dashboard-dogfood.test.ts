// Dogfooding: the agent's own exposure scanner (`iot-agent scan`, the CLI as an operator runs it) against the fleet
// server's HTTPS port, with the dashboard built and served, must grade it A with no finding above `info`.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { bundleDashboard } from '../../scripts/bundles.mjs';
import { createTestFleet, type TestFleet } from '../helpers/fleet.js';
import { caOf, rawRequest } from '../helpers/raw-https.js';
import { agentCli } from '../helpers/run.js';

let fleet: TestFleet;
let port: number;

test.before(async () => {
  fleet = await createTestFleet(['gw-f1']);
  const assets = mkdtempSync(join(tmpdir(), 'edgeward-dashboard-'));
  await bundleDashboard(assets);
  port = (await fleet.start({ dashboardDir: `${assets}/` })).httpPort;
});
test.after(async () => {
  await fleet.close();
});

test('the dashboard is served at / with its own CSP', async () => {
  const page = await rawRequest(port, caOf(fleet.dataDir), { path: '/' });
  assert.is(page.status, 200);
  assert.match(String(page.headers['content-type']), /^text\/html/);
  assert.match(String(page.headers['content-security-policy']), /script-src 'self'/);
  assert.not.match(page.text, /<script(?![^>]*\bsrc=)/, 'no inline script');
  assert.not.match(page.text, /\sstyle=/, 'no inline style');
  const js = await rawRequest(port, caOf(fleet.dataDir), { path: '/app.js' });
  assert.is(js.status, 200);
  assert.match(String(js.headers['content-type']), /^text\/javascript/);
});

test('iot-agent scan grades the HTTPS port A, with no finding above info', async () => {
  const r = await agentCli(['scan', '--target', '127.0.0.1', '--ports', String(port), '--format', 'json'], {
    timeoutMs: 60_000,
  });
  assert.is(r.code, 0, r.output);
  const report = JSON.parse(r.stdout) as {
    score: number;
    grade: string;
    services: { port: number; protocol: string; tls: boolean }[];
    findings: { check: string; severity: string; title: string }[];
  };
  assert.ok(
    report.services.some((s) => s.port === port && s.protocol === 'http' && s.tls),
    `the scanner found the HTTPS service: ${JSON.stringify(report.services)}`,
  );
  const above = report.findings.filter((f) => f.severity !== 'info');
  assert.equal(above, [], JSON.stringify(report.findings, null, 2));
  assert.is(report.grade, 'A', `score ${report.score}`);
});

test.run();
