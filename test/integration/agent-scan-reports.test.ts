// `iot-agent run` scans its own exposure at start (in a child process), reports it to the fleet, and scans again
// on a signed scan-now command; the fleet stores each report.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { createTestFleet, waitFor, type TestFleet } from '../helpers/fleet.js';
import { startAgentProcess, writeAgentConfig, type AgentProcess } from '../helpers/agent-process.js';
import { fleetCli } from '../helpers/run.js';
import { tmpDir } from '../helpers/tmp.js';

let fleet: TestFleet;
let web: Server;
let agent: AgentProcess | undefined;
const key = join(tmpDir(), 'op.key');

test.before(async () => {
  fleet = await createTestFleet(['gw-scan']);
  await fleet.start();
  // A service to find: an HTTP server that lists its root folder (and says 404 elsewhere: a server that answers
  // every path with the same listing is a catch-all, which the scanner does not count).
  web = createServer((req, res) => {
    if (req.url !== '/') res.statusCode = 404;
    res.end(req.url === '/' ? '<html><title>Index of /</title><a href="backup.tar">backup.tar</a></html>' : '');
  });
  await new Promise<void>((r) => web.listen(0, '127.0.0.1', () => r()));
});
test.after(async () => {
  await agent?.kill('SIGTERM');
  web.close();
  await fleet.close();
});

const reports = () =>
  fleet.db
    .prepare(`SELECT report FROM exposure_reports WHERE device_id = 'gw-scan' ORDER BY id`)
    .pluck()
    .all() as string[];

test('the running agent reports a scan at start and another on scan-now', async () => {
  assert.is((await fleetCli(['operator-key', 'create', '--out', key])).code, 0);
  const port = (web.address() as { port: number }).port;
  const file = writeAgentConfig(fleet.deviceDir('gw-scan'), {
    server: fleet.url(),
    deviceId: 'gw-scan',
    cert: 'device.crt',
    key: 'device.key',
    ca: 'ca.crt',
    stateDir: 'state',
    telemetryIntervalSeconds: 60,
    operators: [{ name: 'ops', publicKey: `${key}.pub`, allow: ['scan-now'] }],
    scan: { ports: String(port), credentialChecks: false, timeoutSeconds: 10 },
    log: { level: 'warn' },
  });
  agent = startAgentProcess(file);
  await waitFor(() => reports().length >= 1, 'the start-up report', 30_000);
  const first = JSON.parse(reports()[0]!) as {
    deviceId: string;
    services: { port: number; protocol: string }[];
    findings: { check: string }[];
  };
  assert.is(first.deviceId, 'gw-scan');
  assert.ok(
    first.services.some((s) => s.port === port && s.protocol === 'http'),
    JSON.stringify(first.services),
  );
  assert.ok(first.findings.some((f) => f.check === 'http.directory-listing'));

  const r = await fleetCli([
    'cmd',
    'send',
    'gw-scan',
    'scan-now',
    '--key',
    key,
    '--data',
    fleet.dataDir,
    '--wait',
    '30s',
  ]);
  assert.is(r.code, 0, r.output + agent.output());
  await waitFor(() => reports().length >= 2, 'the scan-now report', 30_000);
  const text = await fleetCli(['report', 'gw-scan', '--data', fleet.dataDir]);
  assert.match(text.stdout, /http\.directory-listing/);
});

test.run();
