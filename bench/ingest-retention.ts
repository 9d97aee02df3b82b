// bench/ingest-retention: what retention costs ingest while it works through a backlog. The same load (50 devices,
// one sample per message, 1,000 messages in flight) goes through createIngest on its thread, against a database
// holding old samples: once with retention off, once with it deleting them meanwhile, back to back (alternating).
// Reports messages/s, the longest wait from arrival to commit, and the samples retention deleted per second.
// --rate N offers N messages/s instead of as many as the thread acknowledges (a server's thread is not saturated:
// the MQTT side limits it first), to see how fast retention deletes in the thread's idle time.
// Run: node --import tsx bench/ingest-retention.ts [--old 400000] [--seconds 10] [--rounds 2] [--rate 0]
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { openDb } from '../broker/src/db/open.js';
import { createIngest } from '../broker/src/fleet/ingest.js';
import { createIngestStore, type StoreItem } from '../broker/src/fleet/ingest-store.js';
import { encodeMessage, silentLogger } from '../shared/src/index.js';

const { values } = parseArgs({
  options: {
    old: { type: 'string', default: '400000' },
    seconds: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '2' },
    rate: { type: 'string', default: '0' },
  },
});
const DEVICES = 50;
const IN_FLIGHT = 1000;
const work = mkdtempSync(join(tmpdir(), 'edgeward-bench-retention-'));
const metrics = { cpuLoad1: 0.47, memUsedBytes: 480723094, memTotalBytes: 1073741824, uptimeSeconds: 1000 };
const device = (d: number) => `gw-${String(d).padStart(4, '0')}`;

/** A database with `old` samples received ten days ago, keyed, copied for each run. */
function template(old: number): string {
  const file = join(work, 'template.db');
  const db = openDb(file, { synchronous: 'NORMAL' });
  for (let d = 0; d < DEVICES; d++)
    db.prepare(`INSERT INTO devices (id, status, created_at) VALUES (?, 'active', 0)`).run(device(d));
  const store = createIngestStore(db);
  const at = Date.now() - 10 * 86_400_000;
  const per = old / DEVICES;
  for (let from = 1; from <= per; from += 500) {
    const items: StoreItem[] = [];
    for (let d = 0; d < DEVICES; d++) {
      const samples = Array.from({ length: Math.min(500, per - from + 1) }, (_, i) => ({
        seq: from + i,
        ts: at,
        m: metrics,
      }));
      const message = { v: 1 as const, id: `old-${d}-${from}`, ts: at, stream: `stream-${d}`, samples };
      items.push({ kind: 'message', deviceId: device(d), receivedAt: at, decoded: { kind: 'telemetry', message } });
    }
    store.writeBatch(items, at + from);
  }
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  return file;
}

async function run(base: string, retain: boolean, seconds: number, rate: number) {
  const file = join(work, `run-${retain}-${Date.now()}.db`);
  copyFileSync(base, file);
  const db = openDb(file);
  const ingest = createIngest(db, {
    log: silentLogger,
    thread: { file },
    ...(retain ? { retention: { telemetryDays: 1, reportsPerDevice: null } } : {}),
  });
  const seqs = new Array<number>(DEVICES).fill(1_000_000);
  let done = 0;
  let stopAt = 0;
  let maxLag = 0;
  let inFlight = 0;
  let finished: () => void = () => undefined;
  const submit = (d: number) => {
    const seq = ++seqs[d]!;
    const payload = encodeMessage({
      v: 1,
      id: `m-${d}-${seq}`,
      ts: Date.now(),
      stream: `stream-${d}`,
      samples: [{ seq, ts: Date.now(), m: metrics }],
    });
    inFlight++;
    ingest.submit(device(d), 'telemetry', `fleet/v1/${device(d)}/telemetry`, payload, (err) => {
      inFlight--;
      if (err) throw err;
      done++;
      if (rate === 0 && Date.now() < stopAt) submit(d);
      else if (inFlight === 0 && Date.now() >= stopAt) finished();
    });
  };
  /** At a fixed rate: a share every 10 ms, as long as no more than IN_FLIGHT wait. */
  const paced = () => {
    let next = 0;
    const timer = setInterval(() => {
      if (Date.now() >= stopAt) {
        clearInterval(timer);
        if (inFlight === 0) finished();
        return;
      }
      for (let i = 0; i < rate / 100 && inFlight < IN_FLIGHT; i++) submit(next++ % DEVICES);
    }, 10);
  };
  await new Promise((r) => setTimeout(r, 1500)); // the thread is ready, retention has started
  ingest.stats();
  const start = Date.now();
  stopAt = start + seconds * 1000;
  const all = new Promise<void>((resolve) => (finished = resolve));
  if (rate > 0) paced();
  else for (let i = 0; i < IN_FLIGHT; i++) submit(i % DEVICES);
  const sampler = setInterval(() => (maxLag = Math.max(maxLag, ingest.stats().maxLagMs)), 100);
  await all;
  clearInterval(sampler);
  const elapsed = (Date.now() - start) / 1000;
  const s = ingest.stats();
  maxLag = Math.max(maxLag, s.maxLagMs);
  await ingest.close();
  db.close();
  rmSync(file, { force: true });
  return { perSecond: done / elapsed, maxLag, prunedPerSecond: s.prunedSamples / elapsed };
}

const old = Number(values.old);
const seconds = Number(values.seconds);
const rate = Number(values.rate);
const base = template(old);
const offered = rate > 0 ? `${rate} messages/s offered` : `${IN_FLIGHT} messages in flight`;
console.log(`ingest-retention: ${DEVICES} devices, ${offered}, ${old} old samples, ${seconds}s each`);
console.log(`${'retention'.padEnd(10)} ${'msg/s'.padStart(8)} ${'max lag ms'.padStart(11)} ${'pruned/s'.padStart(9)}`);
for (let r = 0; r < Number(values.rounds); r++) {
  for (const retain of [false, true]) {
    const x = await run(base, retain, seconds, rate);
    const cells = [x.perSecond, x.maxLag, x.prunedPerSecond].map((v, i) => v.toFixed(0).padStart([8, 11, 9][i]!));
    console.log(`${(retain ? 'on' : 'off').padEnd(10)} ${cells.join(' ')}`);
  }
}
rmSync(work, { recursive: true, force: true });
