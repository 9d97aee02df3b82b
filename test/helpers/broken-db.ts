// Damaged fleet databases for tests: a populated data folder to copy, deterministic garbage written over chosen
// bytes or pages, and a small tmpfs to fill.
import { createHash } from 'node:crypto';
import { closeSync, cpSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Db } from '../../broker/src/db/open.js';
import { createTestFleet, type TestFleet } from './fleet.js';
import { tmpDir } from './tmp.js';

export const PAGE_SIZE = 4096;

/**
 * A fleet with `devices` and `samples` telemetry rows per device, keyed and checkpointed into fleet.db, and
 * vacuumed: every page of the file is in use, so garbage written anywhere lands in a table or an index. The samples
 * arrived a moment ago (a millisecond apart), so a server's retention leaves them, and their pages, alone.
 */
export async function populatedFleet(devices: string[], samples = 3000): Promise<TestFleet> {
  const fleet = await createTestFleet(devices);
  const insert = fleet.db.prepare(
    'INSERT INTO telemetry (device_id, stream, seq, device_ts, received_at, metrics) ' +
      `VALUES (?, 'stream-01', ?, ?, ?, ?)`,
  );
  const at = Date.now() - samples;
  fleet.db.transaction(() => {
    for (const id of devices)
      for (let seq = 1; seq <= samples; seq++) insert.run(id, seq, at + seq, at + seq, `{"cpuLoad1":${seq % 7}}`);
  })();
  fleet.db.exec(
    `INSERT INTO telemetry_keys SELECT device_id, stream, seq, id FROM telemetry;
     UPDATE telemetry_keyed SET through_id = (SELECT max(id) FROM telemetry);`,
  );
  fleet.db.exec('VACUUM');
  fleet.db.pragma('wal_checkpoint(TRUNCATE)');
  return fleet;
}

/** A copy of a data folder (no server may be running on it). */
export function copyDataDir(dataDir: string): string {
  const copy = join(tmpDir('edgeward-broken-'), 'data');
  cpSync(dataDir, copy, { recursive: true });
  return copy;
}

/** `length` bytes that look random but are the same on every run (SHA-256 in counter mode). */
export function noise(length: number, seed = 'edgeward'): Buffer {
  const blocks: Buffer[] = [];
  for (let i = 0; blocks.length * 32 < length; i++) blocks.push(createHash('sha256').update(`${seed}:${i}`).digest());
  return Buffer.concat(blocks).subarray(0, length);
}

/** Writes `bytes` over the file at `offset`, in place. */
export function overwrite(file: string, offset: number, bytes: Buffer): void {
  const fd = openSync(file, 'r+');
  try {
    writeSync(fd, bytes, 0, bytes.length, offset);
  } finally {
    closeSync(fd);
  }
}

/** The pages (1-based) of these tables and indexes, from SQLite's dbstat. */
export function pagesOf(db: Db, names: string[]): number[] {
  return db
    .prepare(`SELECT pageno FROM dbstat WHERE name IN (${names.map(() => '?').join(', ')}) ORDER BY pageno`)
    .pluck()
    .all(...names) as number[];
}

/** Writes garbage over each page, so that reading any of them fails with SQLITE_CORRUPT. */
export function corruptPages(file: string, pages: number[]): void {
  for (const p of pages) overwrite(file, (p - 1) * PAGE_SIZE, noise(PAGE_SIZE, `page-${p}`));
}

/** True when a process's output carries a JavaScript stack trace. */
export const hasStackTrace = (output: string): boolean => /^\s+at .+[(:]\d+/m.test(output);
