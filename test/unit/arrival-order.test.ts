// The arrival-order search (broker/src/db/arrival-order.ts) turns a time into a row id on every page of telemetry,
// exposure reports and events: none of the statements it runs may read a whole table, which SQLite's plan shows.
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type ArrivalTable, createArrivalSearch, createArrivalWindow } from '../../broker/src/db/arrival-order.js';
import { type Db, openDb } from '../../broker/src/db/open.js';
import { tmpDir } from '../helpers/tmp.js';

const TABLES: readonly ArrivalTable[] = ['telemetry', 'exposure_reports', 'audit'];

/** The SQL of every statement `build` prepares on `db`. */
function preparedBy(db: Db, build: () => void): string[] {
  const seen: string[] = [];
  const prepare = db.prepare.bind(db);
  db.prepare = ((sql: string) => {
    seen.push(sql);
    return prepare(sql);
  }) as Db['prepare'];
  try {
    build();
  } finally {
    db.prepare = prepare;
  }
  return seen;
}

test('the search and the window read rows by id and the ends of the table, never the whole table', () => {
  const db = openDb(join(tmpDir('edgeward-arrival-'), 'fleet.db'));
  for (const table of TABLES) {
    const statements = preparedBy(db, () => {
      createArrivalSearch(db, table);
      createArrivalWindow(db, table);
    });
    assert.ok(statements.length >= 3, `${table}: ${statements.length} statements`);
    for (const sql of statements) {
      const plan = (
        db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...(sql.includes('?') ? [1] : [])) as {
          detail: string;
        }[]
      ).map((r) => r.detail);
      const scans = plan.filter((d) => /^SCAN (?!CONSTANT ROW)/.test(d));
      assert.equal(scans, [], `${table}: ${sql}\n${plan.join('\n')}`);
    }
  }
  db.close();
});

test('the search finds the first row at or after a time', () => {
  const db = openDb(join(tmpDir('edgeward-arrival-'), 'fleet.db'));
  const insert = db.prepare(`INSERT INTO audit (at, event) VALUES (?, 'x')`);
  for (const at of [10, 20, 20, 30, 40]) insert.run(at);
  const search = createArrivalSearch(db, 'audit');
  assert.equal([0, 10, 11, 20, 21, 40, 41].map(search), [1, 1, 2, 2, 4, 5, 6]);
  db.close();
});

test.run();
