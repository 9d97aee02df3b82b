// Numbered schema migrations of the agent's state database (agent.db); user_version holds the last applied.
export interface Migration {
  readonly version: number;
  readonly sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    // The store-and-forward outbox: samples by sequence number, other messages by insertion, and counters.
    sql: `
      CREATE TABLE IF NOT EXISTS samples (seq INTEGER PRIMARY KEY, ts INTEGER NOT NULL, metrics TEXT NOT NULL) STRICT;
      CREATE TABLE IF NOT EXISTS messages (
        id INTEGER PRIMARY KEY AUTOINCREMENT, channel TEXT NOT NULL, payload BLOB NOT NULL
      ) STRICT;
      CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
    `,
  },
  {
    version: 2,
    // Replay protection for signed commands: every nonce seen (until well past its expiry) and, per operator
    // key, the highest counter accepted (kept for ever: it is what still works when the clock is wrong).
    sql: `
      CREATE TABLE IF NOT EXISTS nonces (
        nonce TEXT PRIMARY KEY, kid TEXT NOT NULL, exp INTEGER NOT NULL, cmd_id TEXT NOT NULL
      ) STRICT;
      CREATE INDEX IF NOT EXISTS nonces_exp ON nonces (exp);
      CREATE TABLE IF NOT EXISTS counters (kid TEXT PRIMARY KEY, counter INTEGER NOT NULL) STRICT;
    `,
  },
  {
    version: 3,
    // Drop counters by reason ('dropped' counted only a full outbox), and the count of acknowledged samples, so
    // that last_seq = acked + waiting samples + dropped:outbox-full holds in every committed state. For a folder
    // written before, 'acked' is derived once from those counters (nothing else can be known of the past).
    sql: `
      UPDATE kv SET key = 'dropped:outbox-full' WHERE key = 'dropped';
      INSERT OR IGNORE INTO kv (key, value)
        SELECT 'acked', CAST(max(0,
          coalesce((SELECT CAST(value AS INTEGER) FROM kv WHERE key = 'last_seq'), 0)
          - (SELECT count(*) FROM samples)
          - coalesce((SELECT CAST(value AS INTEGER) FROM kv WHERE key = 'dropped:outbox-full'), 0)) AS TEXT);
    `,
  },
];

export const LATEST_VERSION = MIGRATIONS.at(-1)!.version;
