// bench/cluster-scale --quick end to end, on real redis-server, PostgreSQL and HAProxy: every phase ran (steady over
// server lists, through HAProxy, the throughput comparison, the node kill), nothing was lost or stored twice, and
// the cluster was torn down. Timings are the bench's to report, not this test's to assert.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { INSTALL_LINE } from '../../broker/src/cluster/local/index.js';
import { testWithPeers } from '../helpers/peers.js';
import { run } from '../helpers/run.js';
import { tmpDir } from '../helpers/tmp.js';

const test = testWithPeers(['redis-server', 'haproxy', 'initdb', 'postgres'], INSTALL_LINE);

interface Row {
  devices: number;
  why: string;
  lost: number | null;
  storedTwice: number;
  sent: number | null;
}

/** Pids of processes whose command line names `folder`. */
function runningFrom(folder: string): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(folder);
      } catch {
        return false;
      }
    })
    .map(Number);
}

const clusterFolders = () => readdirSync(tmpdir()).filter((f) => f.startsWith('edgeward-bench-cluster-'));

test('--quick runs every phase against a 3-node cluster; nothing lost or stored twice; torn down', async () => {
  const dir = tmpDir('edgeward-bench-cluster-scale-');
  const json = join(dir, 'result.json');
  const before = new Set(clusterFolders());
  const r = await run(
    process.execPath,
    [
      '--import',
      'tsx',
      'bench/cluster-scale.ts',
      '--quick',
      ...['--hold', '2', '--throughput-seconds', '2'],
      ...['--cache', join(dir, 'cache'), '--json', json],
    ],
    { timeoutMs: 240_000 },
  );
  assert.is(r.code, 0, r.output.slice(-4000));
  assert.ok(existsSync(json), 'the result file');
  const out = JSON.parse(readFileSync(json, 'utf8')) as {
    schema: string;
    steady: Row[];
    haproxy: Row[];
    throughput: { clusterPerSecond: number; singleSqlitePerSecond: number; clusterLost: number; singleLost: number };
    kill: {
      devices: number;
      devicesOnKilledNode: number;
      reconnectSeconds: number | null;
      notStored: number;
      acknowledgedLost: number;
      storedTwice: number;
      ok: boolean;
    };
  };
  assert.is(out.schema, 'edgeward.bench.cluster-scale/1');
  // A loaded machine may miss the latency limit: that is a result, not a failure; losing a sample is.
  for (const row of [...out.steady, ...out.haproxy]) {
    assert.ok(row.why === 'pass' || row.why.startsWith('p99'), JSON.stringify(row));
    assert.ok(row.sent !== null && row.sent > 0, JSON.stringify(row));
    assert.is(row.lost, 0);
    assert.is(row.storedTwice, 0);
  }
  assert.is(out.steady.length, 1);
  assert.is(out.haproxy.length, 1);
  assert.ok(out.throughput.clusterPerSecond > 0 && out.throughput.singleSqlitePerSecond > 0);
  assert.equal([out.throughput.clusterLost, out.throughput.singleLost], [0, 0]);
  assert.ok(out.kill.devicesOnKilledNode > 0, 'the killed node held devices');
  assert.ok(out.kill.reconnectSeconds !== null, 'every device connected again');
  assert.equal([out.kill.notStored, out.kill.acknowledgedLost, out.kill.storedTwice], [0, 0, 0]);
  assert.ok(out.kill.ok, JSON.stringify(out.kill));
  // The bench's cluster folder is gone, and no process runs from it (nodes, Redis, PostgreSQL, HAProxy).
  assert.equal(
    clusterFolders().filter((f) => !before.has(f)),
    [],
  );
  const folder = /cluster up in (\S+)/.exec(r.stderr)?.[1];
  assert.ok(folder, 'the bench names its cluster folder');
  assert.equal(runningFrom(folder), []);
  assert.match(r.stdout, /largest fleet holding/);
  assert.match(r.stdout, /largest fleet through HAProxy/);
});

test('a bad --sim-priority is a usage error (exit 2) before anything starts', async () => {
  const bench = (args: string[]) =>
    run(process.execPath, ['--import', 'tsx', 'bench/cluster-scale.ts', ...args], { timeoutMs: 60_000 });
  for (const bad of ['99', '-21', '1.5', 'high']) {
    const r = await bench([`--sim-priority=${bad}`]);
    assert.is(r.code, 2, `${bad}: ${r.output.slice(-2000)}`);
    assert.match(r.output, /bad option value/, bad);
  }
  // A negative value as its own argument reads as an option: the error says to use the = form.
  const dashed = await bench(['--sim-priority', '-10']);
  assert.is(dashed.code, 2, dashed.output.slice(-2000));
  assert.match(dashed.output, /--sim-priority=-XYZ/);
  assert.not.match(dashed.output, /\n\s+at /, 'a usage error, not a stack trace');
});

test.run();
