// The replay store in agent.db: a nonce and its key's counter are recorded in one transaction, before the
// command runs, so a crash can never let the same command run twice (at most once).
import { closeStateDb, type StateDb } from '../state/db.js';
import { DEFAULT_MAX_NONCES, type Admission, type ReplayEntry, type ReplayOptions, type ReplayStore } from './types.js';

export function createSqliteReplayStore(db: StateDb, opts: ReplayOptions = {}): ReplayStore {
  const max = opts.maxNonces ?? DEFAULT_MAX_NONCES;
  const hasNonce = db.prepare('SELECT 1 FROM nonces WHERE nonce = ?').pluck();
  const getCounter = db.prepare('SELECT counter FROM counters WHERE kid = ?').pluck();
  const insertNonce = db.prepare('INSERT INTO nonces (nonce, kid, exp, cmd_id) VALUES (?, ?, ?, ?)');
  const setCounter = db.prepare(
    'INSERT INTO counters (kid, counter) VALUES (?, ?) ON CONFLICT(kid) DO UPDATE SET counter = excluded.counter',
  );
  const countNonces = db.prepare('SELECT count(*) FROM nonces').pluck();
  const countKeys = db.prepare('SELECT count(*) FROM counters').pluck();
  const dropOldest = db.prepare('DELETE FROM nonces WHERE rowid IN (SELECT rowid FROM nonces ORDER BY rowid LIMIT ?)');
  const pruneBefore = db.prepare('DELETE FROM nonces WHERE exp < ?');
  let nonces = countNonces.get() as number;

  const admit = db.transaction((e: ReplayEntry): Admission => {
    if (hasNonce.get(e.nonce)) return 'nonce-seen';
    const last = (getCounter.get(e.kid) as number | undefined) ?? 0;
    if (e.counter <= last) return 'counter-stale';
    insertNonce.run(e.nonce, e.kid, e.exp, e.cmdId);
    setCounter.run(e.kid, e.counter);
    nonces++;
    if (nonces > max) nonces -= dropOldest.run(nonces - max).changes;
    return 'ok';
  });

  return {
    admit: (e) => admit.immediate(e),
    lastCounter: (kid) => (getCounter.get(kid) as number | undefined) ?? 0,
    prune(before) {
      const n = pruneBefore.run(before).changes;
      nonces -= n;
      return n;
    },
    stats: () => ({ nonces: countNonces.get() as number, keys: countKeys.get() as number }),
    close() {
      closeStateDb(db);
    },
  };
}
