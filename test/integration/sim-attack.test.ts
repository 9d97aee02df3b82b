// attack: rogue devices run the whole playbook (foreign topics, wildcards, $SYS, flood, forged and replayed
// commands, forged and downgraded firmware) while 60 honest devices keep working: every action is denied, the
// MQTT ones are audited by the server, and the honest devices' latency is measured before and during.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseFleetConfig } from '../../broker/src/config.js';
import { ALL_ACTIONS, createSimulator } from '../../simulator/src/index.js';
import { createTestFleet, type TestFleet } from '../helpers/fleet.js';

let fleet: TestFleet;

test.before(async () => {
  fleet = await createTestFleet();
  // A flood is cut off after one second of backlog instead of five, so a round of the playbook is short.
  await fleet.start({
    config: parseFleetConfig({
      limits: { maxInflightPerDevice: 50 },
      deviceTypes: {
        default: {
          messagesPerSecond: 50,
          burstMessages: 100,
          bytesPerSecond: 262_144,
          burstBytes: 1_048_576,
          disconnectAfterSeconds: 1,
        },
      },
    }),
  });
});
test.after(async () => fleet?.close());

test('every rogue action is attempted and denied; honest devices stay connected', async () => {
  const r = await (
    await createSimulator({
      server: fleet.url(),
      serverApi: `https://127.0.0.1:${fleet.server.httpPort}`,
      dataDir: fleet.dataDir,
      devices: 60,
      scenario: 'attack',
      rogues: 2,
      durationMs: 6000,
      telemetryIntervalSeconds: 1,
      rampPerSecond: 500,
      workers: 0,
      exposureEveryMs: 0,
    })
  ).done;
  assert.ok(r.ok, JSON.stringify(r.invariants.filter((i) => !i.ok)));
  for (const a of ALL_ACTIONS) {
    assert.ok((r.attempts?.[a] ?? 0) > 0, `${a} attempted`);
    assert.is(r.denied?.[a], r.attempts?.[a], `${a}: every attempt denied`);
  }
  // The server's own evidence.
  assert.ok((r.audited?.['acl.denied:foreign-topic'] ?? 0) > 0);
  assert.ok((r.audited?.['acl.denied:wildcard'] ?? 0) > 0);
  assert.ok((r.audited?.['acl.denied:sys-topic'] ?? 0) > 0);
  assert.ok(Object.keys(r.audited ?? {}).some((k) => k.startsWith('rate.disconnected')));
  const reasons = fleet.db
    .prepare(`SELECT DISTINCT reason FROM command_acks WHERE status = 'rejected'`)
    .pluck()
    .all() as string[];
  for (const reason of ['unknown-key', 'bad-signature', 'replay'])
    assert.ok(reasons.includes(reason), `device acknowledged a ${reason} rejection`);
  // No forged command ever ran: the only commands done are the genuine scan-now ones.
  const ran = fleet.db.prepare(`SELECT DISTINCT command FROM commands WHERE status = 'done'`).pluck().all();
  assert.equal(ran, ['scan-now']);
  assert.ok(r.phases?.baseline && r.phases.attack, 'latency before and during the attack');
  assert.ok(r.phases.attack.ackLatencyMs.count > 0);
  assert.is(r.lost, 0);
});

test.run();
