// The agent's state folder on a small tmpfs that fills up: samples that cannot be stored are counted as dropped
// (disk-full), `iot-agent status` adds up during the outage, and once space returns the fleet has every stored
// sample with no gap and the drop count. Needs `mount -t tmpfs` (root); prints SKIP where that is not permitted.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { createAgent, readAgentStatus, type AgentStatusReport } from '../../agent/src/index.js';
import { createLogger } from '../../shared/src/index.js';
import { createTestFleet, testLogger, waitFor } from '../helpers/fleet.js';
import { fillDisk, mountTmpfs, unmountAll } from '../helpers/mounts.js';

/** A fresh tmpfs of `size`, or undefined (after a SKIP line) where mounting is not permitted. */
function mountTmpfsOrSkip(size: string): string | undefined {
  const m = mountTmpfs(`size=${size},mode=0700`);
  if ('skip' in m) {
    console.log(`SKIP agent-full-disk: ${m.skip}`);
    return undefined;
  }
  return m.dir;
}

/** Fills the file system of `dir`; returns the files whose removal frees the space. */
const fill = (dir: string) => fillDisk(join(dir, 'filler'));

const addsUp = (r: AgentStatusReport) => r.lastSequence === r.acknowledged + r.samples + r.droppedBy['outbox-full'];

test('a full state folder: samples counted as dropped, status adds up, no uncounted gap at the fleet', async () => {
  const mnt = mountTmpfsOrSkip('4m');
  if (!mnt) return;
  const fleet = await createTestFleet(['gw-full']);
  let agent: Awaited<ReturnType<typeof createAgent>> | undefined;
  try {
    await fleet.start();
    const stateDir = join(mnt, 'state');
    const config = fleet.agentConfig('gw-full', { stateDir, telemetryIntervalSeconds: 3600 });
    agent = await createAgent({ config, log: testLogger() });
    const a = agent;
    for (let i = 0; i < 3; i++) await a.sampleNow();
    await waitFor(() => a.stats().samples === 0 && a.stats().lastSequence === 4, 'the first samples acknowledged');

    const filler = fill(mnt);
    const failures = 6;
    const outcomes: string[] = [];
    for (let i = 0; i < failures; i++) {
      outcomes.push(
        await a.sampleNow().then(
          (seq) => `stored ${seq}`,
          (err: Error & { code?: string }) => err.code ?? err.message,
        ),
      );
    }
    const live = a.stats();
    assert.is(live.lastSequence, 4, 'a sample that could not be stored took no sequence number');
    assert.is(live.samples, 0);
    assert.is(live.droppedBy['disk-full'], failures, 'each sample that could not be stored is counted');
    assert.equal(outcomes, Array(failures).fill('AGENT_SAMPLE_DROPPED'));
    const during = readAgentStatus(stateDir);
    assert.ok(addsUp(during), `status adds up during the outage: ${JSON.stringify(during)}`);
    assert.is(during.lastSequence, 4);

    for (const f of filler) unlinkSync(f);
    const next = await a.sampleNow();
    assert.is(next, 5, 'the first sample after the outage takes the next number');
    await waitFor(() => fleet.server.registry.get('gw-full')?.dropped === failures, 'the drop count at the fleet');
    const seqs = fleet.db
      .prepare('SELECT seq FROM telemetry WHERE device_id = ? ORDER BY seq')
      .pluck()
      .all('gw-full') as number[];
    assert.equal(seqs, [1, 2, 3, 4, 5], 'every stored sample reached the fleet, with no gap');
    const after = readAgentStatus(stateDir);
    assert.ok(addsUp(after), JSON.stringify(after));
    assert.equal(after.droppedBy, { 'outbox-full': 0, 'disk-full': failures, 'write-failed': 0 }, 'and on disk');
  } finally {
    await agent?.close();
    await fleet.close();
    unmountAll();
  }
});

test('acks that cannot be deleted on a full disk: the agent carries on, and sends those samples again', async () => {
  const mnt = mountTmpfsOrSkip('4m');
  if (!mnt) return;
  const fleet = await createTestFleet(['gw-acks']);
  let agent: Awaited<ReturnType<typeof createAgent>> | undefined;
  try {
    const port = (await fleet.start()).mqttPort;
    const stateDir = join(mnt, 'state');
    const config = fleet.agentConfig('gw-acks', { stateDir, telemetryIntervalSeconds: 3600 });
    await fleet.server.close(); // offline: the samples wait in the outbox
    const lines: string[] = [];
    agent = await createAgent({ config, log: createLogger({ level: 'warn', write: (l) => lines.push(l) }) });
    const a = agent;
    for (let i = 0; i < 3; i++) await a.sampleNow();
    assert.is(a.stats().samples, 4);

    const filler = fill(mnt);
    await fleet.start({ mqttPort: port });
    const seqs = () =>
      fleet.db.prepare('SELECT seq FROM telemetry WHERE device_id = ? ORDER BY seq').pluck().all('gw-acks');
    await waitFor(() => seqs().length === 4, 'the waiting samples stored by the fleet', 20_000);
    const failedDeletion = /acknowledged samples .* could not be deleted/;
    await waitFor(() => lines.some((l) => failedDeletion.test(l)), 'a failed deletion');
    assert.ok(a.connected, 'the agent is still up and connected');
    assert.is(a.stats().samples, 4, 'acknowledged, but still in the outbox: the deletion could not be written');
    assert.ok(addsUp(readAgentStatus(stateDir)));

    for (const f of filler) unlinkSync(f);
    assert.is(await a.sampleNow(), 5);
    await waitFor(() => a.stats().samples === 0, 'the outbox emptied once it could be written', 20_000);
    assert.equal(seqs(), [1, 2, 3, 4, 5], 'resent samples are stored once');
    const s = a.stats();
    assert.equal([s.acknowledged, s.dropped], [5, 0]);
  } finally {
    await agent?.close();
    await fleet.close();
    unmountAll();
  }
});

test.run();
