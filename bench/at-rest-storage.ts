// bench/at-rest-storage: the cost and the coverage of the two ways to encrypt the fleet database at rest, on the
// telemetry insert path (one transaction per batch, WAL, synchronous=FULL as `fleet serve`, the same index):
//   plain      better-sqlite3, nothing encrypted (the baseline)
//   whole-db   better-sqlite3-multiple-ciphers, ChaCha20-Poly1305 on every page (database and WAL), raw key
//   column     better-sqlite3 with tweetnacl secretbox on each sample's payload column; the device id and metric
//              name stay in the clear, for they are the index keys (or would need a keyed hash)
// After the run it scans the raw bytes of each mode's files (db, -wal, -shm) for a device id, a metric name and a
// table name, and prints what is in the clear. Run: node --import tsx bench/at-rest-storage.ts [--rows 200000]
//      [--batch 100] [--rounds 3]
import { createRequire } from 'node:module';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import nacl from 'tweetnacl';
import { encode } from '../shared/src/index.js';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '200000' },
    batch: { type: 'string', default: '100' },
    rounds: { type: 'string', default: '3' },
    help: { type: 'boolean' },
  },
});
if (values.help) {
  process.stdout.write('node --import tsx bench/at-rest-storage.ts [--rows 200000] [--batch 100] [--rounds 3]\n');
  process.exit(0);
}
const ROWS = Number(values.rows);
const BATCH = Number(values.batch);
const ROUNDS = Number(values.rounds);
const Keyed = createRequire(import.meta.url)('better-sqlite3-multiple-ciphers') as typeof Database;
const KEY = nacl.randomBytes(32);
const DEVICES = 50;
const deviceId = (i: number) => `gw-bench-${String(i % DEVICES).padStart(4, '0')}`;
const METRIC = 'cpu.temperature.celsius';

type Mode = 'plain' | 'whole-db' | 'column';

function open(file: string, mode: Mode): Database.Database {
  const db = mode === 'whole-db' ? new Keyed(file) : new Database(file);
  if (mode === 'whole-db') {
    db.pragma(`cipher = 'chacha20'`);
    db.pragma(`key = "x'${Buffer.from(KEY).toString('hex')}'"`);
  }
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec(`CREATE TABLE IF NOT EXISTS telemetry (device_id TEXT NOT NULL, seq INTEGER NOT NULL, ts INTEGER NOT NULL,
    metric TEXT NOT NULL, payload BLOB NOT NULL, PRIMARY KEY (device_id, seq, metric)) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS telemetry_metric_ts ON telemetry (metric, ts)`);
  return db;
}

function run(mode: Mode, dir: string): number {
  const file = join(dir, `${mode}.db`);
  const db = open(file, mode);
  const insert = db.prepare('INSERT INTO telemetry (device_id, seq, ts, metric, payload) VALUES (?, ?, ?, ?, ?)');
  const nonce = new Uint8Array(24);
  const batch = db.transaction((from: number) => {
    for (let i = from; i < from + BATCH; i++) {
      const plain = encode({ v: 40 + (i % 17) / 10, unit: 'C', host: deviceId(i) });
      let payload: Uint8Array = plain;
      if (mode === 'column') {
        const n = nacl.randomBytes(24);
        nonce.set(n);
        payload = Buffer.concat([n, nacl.secretbox(plain, n, KEY)]);
      }
      insert.run(deviceId(i), i, 1_700_000_000_000 + i, METRIC, payload);
    }
  });
  const start = process.hrtime.bigint();
  for (let from = 0; from < ROWS; from += BATCH) batch(from);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  db.close();
  return ROWS / seconds;
}

function coverage(dir: string, mode: Mode): string {
  const needles = { 'device id': deviceId(7), metric: METRIC, 'table name': 'telemetry' };
  const found = new Set<string>();
  for (const suffix of ['', '-wal', '-shm', '-journal']) {
    const f = join(dir, `${mode}.db${suffix}`);
    if (!existsSync(f)) continue;
    const bytes = readFileSync(f);
    for (const [what, text] of Object.entries(needles)) if (bytes.includes(text)) found.add(what);
  }
  return found.size === 0 ? 'nothing' : [...found].join(', ');
}

/** Keeps the WAL for the scan: an open reader stops the last connection from checkpointing and deleting it. */
function coverageWithWal(mode: Mode): string {
  const dir = mkdtempSync(join(tmpdir(), 'edgeward-at-rest-cov-'));
  try {
    const db = open(join(dir, `${mode}.db`), mode);
    db.pragma('wal_autocheckpoint = 0');
    const insert = db.prepare('INSERT INTO telemetry (device_id, seq, ts, metric, payload) VALUES (?, ?, ?, ?, ?)');
    insert.run(deviceId(7), 1, 1, METRIC, Buffer.from('x'));
    const found = coverage(dir, mode);
    db.close();
    return found;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const modes: Mode[] = ['plain', 'whole-db', 'column'];
const rates = new Map<Mode, number[]>(modes.map((m) => [m, []]));
for (let round = 0; round < ROUNDS; round++) {
  for (const mode of modes) {
    const dir = mkdtempSync(join(tmpdir(), 'edgeward-at-rest-'));
    try {
      rates.get(mode)!.push(run(mode, dir));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const base = median(rates.get('plain')!);
process.stdout.write(`telemetry inserts, ${ROWS} rows in batches of ${BATCH}, median of ${ROUNDS} rounds\n`);
for (const mode of modes) {
  const r = median(rates.get(mode)!);
  process.stdout.write(
    `  ${mode.padEnd(9)} ${Math.round(r).toString().padStart(8)} rows/s  ${(r / base).toFixed(3)}x plain  ` +
      `in the clear on disk (db, WAL, shm): ${coverageWithWal(mode)}\n`,
  );
}
