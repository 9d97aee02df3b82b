// An agent given a list of servers (a cluster without a load balancer): it skips one that does not answer, and when
// the node it is on stops it continues on the other, its telemetry still acknowledged.
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { test } from 'uvu';
import { createAgent, type Agent } from '../../agent/src/index.js';
import type { FleetServer } from '../../broker/src/server.js';
import { createTestFleet, type TestFleet, startTestServer, testLogger, waitFor } from '../helpers/fleet.js';
import { freePort } from '../helpers/mosquitto.js';
import { tmpDir } from '../helpers/tmp.js';

let fleet: TestFleet;
let a: FleetServer;
let b: FleetServer;
let agent: Agent | undefined;

test.before(async () => {
  fleet = await createTestFleet(['gw-list']);
  fleet.db.close();
  const dataB = join(tmpDir('edgeward-node-b-'), 'data');
  cpSync(fleet.dataDir, dataB, { recursive: true });
  a = await fleet.start();
  b = await startTestServer({ dataDir: dataB });
});

test.after(async () => {
  await agent?.close();
  await a?.close();
  await b?.close();
  await fleet?.close();
});

test('the agent fails over to the other server when its node stops', async () => {
  const dead = `mqtts://127.0.0.1:${await freePort()}`;
  const url = (s: FleetServer) => `mqtts://127.0.0.1:${s.mqttPort}`;
  agent = await createAgent({
    config: fleet.agentConfig('gw-list', { server: [dead, url(a), url(b)] }),
    log: testLogger(),
  });
  const first = await waitFor(() => [a, b].find((s) => s.sessions.get('gw-list')), 'the agent on a node');
  const other = first === a ? b : a;
  await waitFor(() => agent!.stats().lastAckedSequence >= 1, 'a sample acknowledged by the first node');
  await first.close();
  await waitFor(() => other.sessions.get('gw-list'), 'the agent on the other node', 20_000);
  const before = agent.stats().lastAckedSequence;
  await waitFor(() => agent!.stats().lastAckedSequence > before, 'samples acknowledged by the other node');
  assert.ok(other.registry.get('gw-list')!.online);
});

test.run();
