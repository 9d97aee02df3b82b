// The bundled `fleet serve` (dist/fleet.js, as installed) stores device messages on its ingest thread, which is a
// bundle of its own (dist/ingest-thread.js, found beside fleet.js): a path the tests of the sources cannot reach.
// With `retention` in its --config, the thread deletes what is past it: a resend of a pruned sample is acknowledged
// and not stored, a new one is stored. The operator API's lists are read on its read thread, also a bundle of its
// own (dist/admin-read-thread.js), and the posture snapshots are computed on theirs (dist/posture-thread.js).
// Built here into a folder of its own from the current source.
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { sampleReport } from '../../agent/src/scan/index.js';
import { createExposureStore } from '../../broker/src/db/exposure.js';
import { createIngestStore } from '../../broker/src/fleet/ingest-store.js';
import { encodeMessage } from '../../shared/src/index.js';
import { bundleClis } from '../helpers/cli-cases.js';
import { createTestFleet, type TestFleet, waitFor } from '../helpers/fleet.js';
import { freePort, waitForPort } from '../helpers/mosquitto.js';
import { addOperator, apiClientFor } from '../helpers/operators.js';
import { tmpDir } from '../helpers/tmp.js';

let fleet: TestFleet;
let bundles: string;

test.before(async () => {
  bundles = bundleClis();
  fleet = await createTestFleet(['gw-001']);
  // Samples received ten days ago (the first rows: telemetry is kept in arrival order), keyed as ingest keys them.
  const old = Date.now() - 10 * 86_400_000;
  const store = createIngestStore(fleet.db);
  const samples = Array.from({ length: 1200 }, (_, i) => ({ seq: i + 1, ts: old, m: { t: i } }));
  const message = { v: 1 as const, id: 'msg-old-00000001', ts: old, stream: 'stream-old', samples };
  store.writeBatch(
    [{ kind: 'message', deviceId: 'gw-001', receivedAt: old, decoded: { kind: 'telemetry', message } }],
    old,
  );
  const later = { ...message, id: 'msg-old-00000002', stream: 'stream-old-2', samples: [{ seq: 1, ts: old, m: {} }] };
  store.writeBatch(
    [{ kind: 'message', deviceId: 'gw-001', receivedAt: old, decoded: { kind: 'telemetry', message: later } }],
    old + 1000, // the key pass is due: every row keyed
  );
  assert.is(fleet.db.prepare('SELECT count(*) FROM telemetry_keys').pluck().get(), 1201);
});
test.after(async () => {
  await fleet.close();
});

/** Starts the bundled fleet serve on the test fleet; stderr collects its log. */
async function serve(
  extra: string[] = [],
): Promise<{ child: ChildProcess; port: number; httpPort: number; log: () => string }> {
  const [mqttPort, httpPort] = [await freePort(), await freePort()];
  const args = [
    'serve',
    '--data',
    fleet.dataDir,
    '--mqtt-port',
    String(mqttPort),
    '--http-port',
    String(httpPort),
    '--download-port',
    String(await freePort()),
  ];
  const child = spawn(process.execPath, [join(bundles, 'fleet.js'), ...args, '--log-level', 'debug', ...extra], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  await waitForPort(mqttPort);
  await waitForPort(httpPort);
  return { child, port: mqttPort, httpPort, log: () => stderr };
}

/** Publishes one telemetry message at QoS 1 and resolves on its PUBACK (after the commit). */
async function publish(port: number, stream: string, seq: number): Promise<void> {
  const device = await fleet.connect('gw-001', { url: `mqtts://127.0.0.1:${port}` });
  const payload = encodeMessage({
    v: 1,
    id: `msg-${stream}-${seq}`,
    ts: Date.now(),
    stream,
    samples: [{ seq, ts: Date.now(), m: { t: seq } }],
  });
  await device.publishAsync('fleet/v1/gw-001/telemetry', payload, { qos: 1 });
  await device.endAsync(true);
}

async function stop(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

test('the bundled server stores telemetry on its ingest thread (dist/ingest-thread.js), not the fallback', async () => {
  const server = await serve();
  try {
    await publish(server.port, 'stream-bundled', 1);
    assert.is(
      fleet.db.prepare(`SELECT count(*) FROM telemetry WHERE stream = 'stream-bundled'`).pluck().get(),
      1,
      server.log(),
    );
    await waitFor(() => server.log().includes('device connected'), 'the log');
    assert.not.match(server.log(), /ingest thread did not start/);
    assert.not.match(server.log(), /"level":"error"/, server.log());
  } finally {
    await stop(server.child);
  }
});

test("the bundled server answers the API's lists on its read thread (dist/admin-read-thread.js)", async () => {
  const viewer = await addOperator(fleet.db, 'bundle-viewer', 'viewer');
  const server = await serve();
  const api = apiClientFor(fleet.dataDir, server.httpPort, { credential: viewer.credential });
  try {
    // Without the thread's bundle beside fleet.js, every list would be a 503.
    const page = await api.call<{ items: { id: string }[] }>('GET', '/api/v1/devices?limit=10');
    assert.equal(
      page.items.map((d) => d.id),
      ['gw-001'],
    );
    const events = await api.call<{ items: unknown[] }>('GET', '/api/v1/events?limit=5');
    assert.ok(Array.isArray(events.items));
    assert.not.match(server.log(), /"level":"error"/, server.log());
  } finally {
    api.close();
    await stop(server.child);
  }
});

test('the bundled server stores posture snapshots on their thread (dist/posture-thread.js)', async () => {
  fleet.db.prepare('DELETE FROM posture_snapshots').run();
  if (!fleet.db.prepare('SELECT count(*) FROM exposure_reports').pluck().get()) {
    createExposureStore(fleet.db).add(
      'gw-001',
      sampleReport('gw-001', () => 0.5),
      Date.now() - 2 * 86_400_000,
    );
  }
  const server = await serve();
  try {
    const days = fleet.db.prepare(`SELECT count(*) FROM posture_snapshots WHERE resolution = 'day'`).pluck();
    // The report's day and the next (today is not over): stored at start.
    await waitFor(() => (days.get() as number) >= 2, `daily snapshots\n${server.log()}`);
    assert.not.match(server.log(), /"level":"error"/, server.log());
  } finally {
    await stop(server.child);
  }
});

test('retention in --config: old samples go with their keys; a pruned resend is not stored, a new one is', async () => {
  const count = fleet.db.prepare(`SELECT count(*) FROM telemetry WHERE stream = 'stream-old'`).pluck();
  assert.is(count.get(), 1200);
  const config = join(tmpDir('edgeward-bundled-'), 'fleet.json');
  writeFileSync(config, JSON.stringify({ retention: { telemetryDays: 1, reportsPerDevice: 10 } }));
  const server = await serve(['--config', config]);
  try {
    await waitFor(() => count.get() === 0, 'old samples deleted', 15_000);
    assert.is(
      fleet.db.prepare(`SELECT count(*) FROM telemetry_keys WHERE stream = 'stream-old'`).pluck().get(),
      0,
      'their keys too',
    );
    await publish(server.port, 'stream-old', 5); // a resend after its row was pruned: acknowledged…
    assert.is(count.get(), 0, '…and not stored again');
    await publish(server.port, 'stream-old', 1201);
    assert.is(count.get(), 1, 'a new sample of that stream is stored');
    assert.not.match(server.log(), /"level":"error"/, server.log());
  } finally {
    await stop(server.child);
  }
});

test.run();
