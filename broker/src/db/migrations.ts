// Numbered schema migrations for the fleet database. Append only: never edit a migration that has shipped.
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: 'registry, certificates, telemetry, status, audit',
    sql: `
      CREATE TABLE devices (
        id               TEXT PRIMARY KEY,
        device_type      TEXT NOT NULL DEFAULT 'default',
        status           TEXT NOT NULL CHECK (status IN ('active', 'revoked')),
        created_at       INTEGER NOT NULL,
        revoked_at       INTEGER,
        last_seen        INTEGER,
        last_address     TEXT,
        online           INTEGER NOT NULL DEFAULT 0,
        agent_version    TEXT,
        firmware_version TEXT,
        telemetry_count  INTEGER NOT NULL DEFAULT 0,
        rejected_count   INTEGER NOT NULL DEFAULT 0
      ) STRICT;

      CREATE TABLE certificates (
        serial       TEXT PRIMARY KEY,
        device_id    TEXT NOT NULL REFERENCES devices(id),
        fingerprint  TEXT NOT NULL UNIQUE,
        not_before   INTEGER NOT NULL,
        not_after    INTEGER NOT NULL,
        issued_at    INTEGER NOT NULL,
        revoked_at   INTEGER
      ) STRICT;
      CREATE INDEX certificates_device ON certificates(device_id);

      -- One row per accepted message: the idempotency key (device, message id).
      CREATE TABLE messages (
        device_id   TEXT NOT NULL,
        msg_id      TEXT NOT NULL,
        kind        TEXT NOT NULL,
        received_at INTEGER NOT NULL,
        device_ts   INTEGER NOT NULL,
        PRIMARY KEY (device_id, msg_id)
      ) STRICT, WITHOUT ROWID;

      -- One row per sample; (device, stream, seq) makes redelivery harmless and gaps visible.
      CREATE TABLE telemetry (
        device_id   TEXT NOT NULL,
        stream      TEXT NOT NULL,
        seq         INTEGER NOT NULL,
        device_ts   INTEGER NOT NULL,
        received_at INTEGER NOT NULL,
        metrics     TEXT NOT NULL,
        PRIMARY KEY (device_id, stream, seq)
      ) STRICT, WITHOUT ROWID;

      CREATE TABLE status_history (
        id            INTEGER PRIMARY KEY,
        device_id     TEXT NOT NULL,
        state         TEXT NOT NULL,
        device_ts     INTEGER NOT NULL,
        received_at   INTEGER NOT NULL,
        agent_version TEXT
      ) STRICT;
      CREATE INDEX status_history_device ON status_history(device_id, id);

      CREATE TABLE ingest_rejects (
        id          INTEGER PRIMARY KEY,
        at          INTEGER NOT NULL,
        device_id   TEXT NOT NULL,
        topic       TEXT NOT NULL,
        code        TEXT NOT NULL,
        message     TEXT NOT NULL,
        size        INTEGER NOT NULL
      ) STRICT;

      -- Security events: append only (the triggers refuse UPDATE and DELETE).
      CREATE TABLE audit (
        id        INTEGER PRIMARY KEY AUTOINCREMENT,
        at        INTEGER NOT NULL,
        event     TEXT NOT NULL,
        device_id TEXT,
        address   TEXT,
        actor     TEXT,
        detail    TEXT
      ) STRICT;
      CREATE INDEX audit_event ON audit(event, at);
      CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
      CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
    `,
  },
  {
    version: 2,
    name: 'enrolment tokens, connection history, fleet audit findings',
    sql: `
      -- Only the SHA-256 of a token is stored; the token itself is shown once.
      CREATE TABLE enroll_tokens (
        hash        TEXT PRIMARY KEY,
        device_type TEXT NOT NULL,
        created_at  INTEGER NOT NULL,
        expires_at  INTEGER NOT NULL,
        used_at     INTEGER,
        used_by     TEXT
      ) STRICT;

      -- One row per admitted MQTT session, for the audit's "one certificate, several addresses" check.
      CREATE TABLE connections (
        id              INTEGER PRIMARY KEY,
        device_id       TEXT NOT NULL,
        serial          TEXT NOT NULL,
        address         TEXT,
        connected_at    INTEGER NOT NULL,
        disconnected_at INTEGER
      ) STRICT;
      CREATE INDEX connections_serial ON connections(serial, connected_at);
      CREATE INDEX connections_open ON connections(disconnected_at) WHERE disconnected_at IS NULL;

      -- The latest fleet audit run, for the dashboard; each run replaces the previous findings.
      CREATE TABLE audit_runs (
        id       INTEGER PRIMARY KEY,
        at       INTEGER NOT NULL,
        findings INTEGER NOT NULL
      ) STRICT;
      CREATE TABLE audit_findings (
        run_id      INTEGER NOT NULL REFERENCES audit_runs(id),
        check_id    TEXT NOT NULL,
        severity    TEXT NOT NULL,
        device_id   TEXT,
        title       TEXT NOT NULL,
        detail      TEXT NOT NULL,
        remediation TEXT NOT NULL
      ) STRICT;
      CREATE INDEX audit_findings_run ON audit_findings(run_id);
    `,
  },
  {
    version: 3,
    name: 'signed commands, their acknowledgements, operator counters',
    sql: `
      -- The last counter each operator key signed with (commands carry counter + 1, strictly increasing).
      CREATE TABLE operator_counters (
        kid     TEXT PRIMARY KEY,
        counter INTEGER NOT NULL
      ) STRICT;

      -- Signed command envelopes waiting for, or past, delivery. The server only relays the exact signed
      -- bytes: it cannot alter a command, and a stolen server cannot make one.
      CREATE TABLE commands (
        id          TEXT PRIMARY KEY,
        device_id   TEXT NOT NULL,
        command     TEXT NOT NULL,
        params      TEXT NOT NULL,
        operator    TEXT NOT NULL,
        counter     INTEGER NOT NULL,
        envelope    BLOB NOT NULL,
        created_at  INTEGER NOT NULL,
        expires_at  INTEGER NOT NULL,
        status      TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'accepted', 'done', 'rejected', 'failed',
          'expired')),
        reason      TEXT,
        detail      TEXT,
        attempts    INTEGER NOT NULL DEFAULT 0,
        sent_at     INTEGER,
        acked_at    INTEGER
      ) STRICT;
      CREATE INDEX commands_open ON commands(device_id, created_at) WHERE status IN ('pending', 'sent');

      CREATE TABLE command_acks (
        id          INTEGER PRIMARY KEY,
        device_id   TEXT NOT NULL,
        cmd_id      TEXT,
        status      TEXT NOT NULL,
        reason      TEXT,
        detail      TEXT,
        device_ts   INTEGER NOT NULL,
        received_at INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX command_acks_cmd ON command_acks(cmd_id);
    `,
  },
  {
    version: 4,
    name: 'exposure reports and their findings',
    sql: `
      CREATE TABLE exposure_reports (
        id              INTEGER PRIMARY KEY,
        device_id       TEXT NOT NULL,
        msg_id          TEXT NOT NULL,
        device_ts       INTEGER NOT NULL,
        received_at     INTEGER NOT NULL,
        scoring_version INTEGER NOT NULL,
        score           INTEGER NOT NULL,
        grade           TEXT NOT NULL,
        categories      TEXT NOT NULL,
        services        INTEGER NOT NULL,
        findings        INTEGER NOT NULL,
        report          TEXT NOT NULL
      ) STRICT;
      CREATE INDEX exposure_reports_device ON exposure_reports(device_id, received_at);

      CREATE TABLE exposure_findings (
        report_id  INTEGER NOT NULL REFERENCES exposure_reports(id),
        device_id  TEXT NOT NULL,
        check_id   TEXT NOT NULL,
        severity   TEXT NOT NULL,
        port       INTEGER NOT NULL,
        title      TEXT NOT NULL
      ) STRICT;
      CREATE INDEX exposure_findings_report ON exposure_findings(report_id);

      ALTER TABLE devices ADD COLUMN exposure_score INTEGER;
      ALTER TABLE devices ADD COLUMN exposure_grade TEXT;
    `,
  },
  {
    version: 5,
    name: 'samples a device dropped from its full outbox',
    sql: `ALTER TABLE devices ADD COLUMN dropped INTEGER NOT NULL DEFAULT 0;`,
  },
  {
    version: 6,
    name: 'telemetry stored in arrival order, the sample key as a unique index',
    // Keyed by (device, stream, seq), every device had its own insertion point in the table's B-tree: a commit of
    // 200 samples from 50 devices rewrote ~200 pages of 4 KiB. In arrival order the rows fill the last pages and
    // only the narrow key index is written in 50 places: the ingest commit costs ~10% less CPU per sample.
    // Idempotency is unchanged: INSERT OR IGNORE against the unique (device_id, stream, seq).
    sql: `
      CREATE TABLE telemetry_by_arrival (
        id          INTEGER PRIMARY KEY,
        device_id   TEXT NOT NULL,
        stream      TEXT NOT NULL,
        seq         INTEGER NOT NULL,
        device_ts   INTEGER NOT NULL,
        received_at INTEGER NOT NULL,
        metrics     TEXT NOT NULL
      ) STRICT;
      INSERT INTO telemetry_by_arrival (device_id, stream, seq, device_ts, received_at, metrics)
        SELECT device_id, stream, seq, device_ts, received_at, metrics FROM telemetry ORDER BY received_at,
          device_id, stream, seq;
      DROP TABLE telemetry;
      ALTER TABLE telemetry_by_arrival RENAME TO telemetry;
      CREATE UNIQUE INDEX telemetry_sample ON telemetry(device_id, stream, seq);
    `,
  },
  {
    version: 7,
    name: 'sample keys written in sorted passes, out of every ingest commit',
    // A unique index on (device, stream, seq) is written in one place per device on every commit: with 50
    // devices, 85 of the 92 pages a commit of 100 samples wrote to the WAL were that index's. The keys now go
    // into telemetry_keys in one sorted pass every few hundred milliseconds, in the same transaction as a batch
    // (ingest-store.ts); until then ingest knows the newer keys from the rows after telemetry_keyed.through_id.
    // Redelivery stays harmless: a sample is stored only if its key is in neither.
    sql: `
      CREATE TABLE telemetry_keys (
        device_id TEXT NOT NULL,
        stream    TEXT NOT NULL,
        seq       INTEGER NOT NULL,
        row_id    INTEGER NOT NULL,
        PRIMARY KEY (device_id, stream, seq)
      ) STRICT, WITHOUT ROWID;
      INSERT INTO telemetry_keys (device_id, stream, seq, row_id)
        SELECT device_id, stream, seq, id FROM telemetry ORDER BY device_id, stream, seq;
      DROP INDEX telemetry_sample;

      -- Telemetry rows up to this id have their key in telemetry_keys.
      CREATE TABLE telemetry_keyed (
        only       INTEGER PRIMARY KEY CHECK (only = 1),
        through_id INTEGER NOT NULL
      ) STRICT;
      INSERT INTO telemetry_keyed (only, through_id) SELECT 1, coalesce(max(id), 0) FROM telemetry;

      -- Every stored sample, found by its key: the keyed rows through the index, the newest few by a short scan.
      -- (A key whose row was deleted by hand may point to a row id used again: the row must match the key.)
      CREATE VIEW telemetry_samples AS
        SELECT t.id, k.device_id, k.stream, k.seq, t.device_ts, t.received_at, t.metrics
          FROM telemetry_keys k JOIN telemetry t ON t.id = k.row_id AND t.device_id = k.device_id AND t.stream =
            k.stream AND t.seq = k.seq
        UNION ALL
        SELECT id, device_id, stream, seq, device_ts, received_at, metrics
          FROM telemetry WHERE id > (SELECT through_id FROM telemetry_keyed);
    `,
  },
  {
    version: 8,
    name: 'operators, API token keys, token requests, operator audit trail',
    sql: `
      -- People who use the management plane. The credential is an Ed25519 key the operator holds; the server
      -- keeps its public half, and kid (the first 8 bytes of SHA-256 of it, in hex) names it in assertions.
      CREATE TABLE operators (
        id          INTEGER PRIMARY KEY,
        name        TEXT NOT NULL UNIQUE,
        kid         TEXT NOT NULL UNIQUE,
        public_key  TEXT NOT NULL,
        role        TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'release-manager', 'admin')),
        status      TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'revoked')),
        created_at  INTEGER NOT NULL,
        created_by  TEXT NOT NULL,
        revoked_at  INTEGER,
        revoked_by  TEXT
      ) STRICT;

      -- The keys that sign API tokens: the newest signs, the others verify until their last token expired.
      CREATE TABLE token_keys (
        kid         TEXT PRIMARY KEY,
        private_key TEXT NOT NULL,
        public_key  TEXT NOT NULL,
        created_at  INTEGER NOT NULL
      ) STRICT;

      -- Proofs of possession already used (their jti), kept until they expire: a replay hits the primary key.
      CREATE TABLE token_requests (
        jti         TEXT PRIMARY KEY,
        operator_id INTEGER NOT NULL REFERENCES operators(id),
        expires_at  INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX token_requests_expiry ON token_requests(expires_at);

      -- Who changed what, from where, and how it ended: append only (the triggers refuse UPDATE and DELETE).
      CREATE TABLE operator_audit (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        at          INTEGER NOT NULL,
        operator    TEXT NOT NULL,
        role        TEXT,
        action      TEXT NOT NULL,
        object_type TEXT,
        object_id   TEXT,
        address     TEXT,
        via         TEXT NOT NULL CHECK (via IN ('api', 'cli')),
        outcome     TEXT NOT NULL CHECK (outcome IN ('ok', 'denied', 'failed')),
        status      INTEGER,
        detail      TEXT
      ) STRICT;
      CREATE INDEX operator_audit_at ON operator_audit(at);
      CREATE TRIGGER operator_audit_no_update BEFORE UPDATE ON operator_audit
        BEGIN SELECT RAISE(ABORT, 'operator_audit is append-only'); END;
      CREATE TRIGGER operator_audit_no_delete BEFORE DELETE ON operator_audit
        BEGIN SELECT RAISE(ABORT, 'operator_audit is append-only'); END;
    `,
  },
  {
    version: 9,
    name: 'commands found by device, and by signing key and counter',
    sql: `
      -- A device's commands, newest first (the index holds the rowid, so no sort), for the operator API's lists.
      CREATE INDEX commands_device ON commands(device_id);
      -- A submitted command's counter must not have been used by the same key before (admin/command-submit.ts).
      -- Not UNIQUE: rows queued by hand or by older builds may repeat one, and the device refuses replays anyway.
      CREATE INDEX commands_key_counter ON commands(operator, counter);
    `,
  },
  {
    version: 10,
    name: 'rejected messages counted per device, code and minute',
    // One row per rejected message let a device sending garbage write rows without bound (1,436 in one test). A
    // row now stands for every reject of one code from one device within one minute: their count, the first and
    // latest times, and the latest one's topic, reason and size. The unique key keeps it so.
    sql: `
      CREATE TABLE ingest_rejects_by_minute (
        id        INTEGER PRIMARY KEY,
        device_id TEXT NOT NULL,
        minute    INTEGER NOT NULL, -- at / 60000
        code      TEXT NOT NULL,
        count     INTEGER NOT NULL CHECK (count >= 1),
        at        INTEGER NOT NULL, -- the first reject (ms)
        last_at   INTEGER NOT NULL, -- the latest
        topic     TEXT NOT NULL,
        message   TEXT NOT NULL,
        size      INTEGER NOT NULL,
        UNIQUE (device_id, minute, code)
      ) STRICT;
      INSERT INTO ingest_rejects_by_minute (device_id, minute, code, count, at, last_at, topic, message, size)
        SELECT r.device_id, g.minute, r.code, g.n, g.first_at, r.at, r.topic, r.message, r.size
          FROM (SELECT max(id) AS last_id, at / 60000 AS minute, count(*) AS n, min(at) AS first_at
                  FROM ingest_rejects GROUP BY device_id, at / 60000, code) g
          JOIN ingest_rejects r ON r.id = g.last_id
          ORDER BY g.last_id;
      DROP TABLE ingest_rejects;
      ALTER TABLE ingest_rejects_by_minute RENAME TO ingest_rejects;
    `,
  },
  {
    version: 11,
    name: 'retention: the highest seq pruned from each telemetry stream',
    // Retention (fleet serve --config, retention.telemetryDays) deletes old telemetry rows and their keys. A stream's
    // seqs only grow, so one number per stream stands for every key deleted: a sample at or below it was stored
    // once, or is older than samples already pruned, and is not stored again (ingest-keys.ts).
    sql: `
      CREATE TABLE telemetry_pruned (
        device_id   TEXT NOT NULL,
        stream      TEXT NOT NULL,
        through_seq INTEGER NOT NULL,
        pruned_at   INTEGER NOT NULL, -- the latest retention pass that raised it (ms)
        PRIMARY KEY (device_id, stream)
      ) STRICT, WITHOUT ROWID;
    `,
  },
  {
    version: 12,
    name: "a device's newest certificate without a sort; revoked certificates without a scan",
    sql: `
      -- The device list joins each device's newest certificate (ORDER BY issued_at DESC, rowid DESC LIMIT 1): with
      -- issued_at in the index that is one index step per device instead of a temporary sort. It also serves every
      -- lookup by device_id alone, so the older index goes.
      CREATE INDEX certificates_device_issued ON certificates(device_id, issued_at);
      DROP INDEX certificates_device;
      -- The server looks for revoked certificates every second (fleet/revocations.ts): only those rows, not all.
      CREATE INDEX certificates_revoked ON certificates(serial) WHERE revoked_at IS NOT NULL;
    `,
  },
  {
    version: 13,
    name: 'fleet posture snapshots: daily for ever, hourly for the last week',
    // A year of daily posture is 365 small rows: the dashboard and `fleet posture --since` read these instead of
    // replaying every report. Each period counts every active device by its latest report as of the period's end
    // (devices that stopped reporting keep their last grade and show up in devices - reporting).
    sql: `
      CREATE TABLE posture_snapshots (
        resolution    TEXT NOT NULL CHECK (resolution IN ('hour', 'day')),
        start         INTEGER NOT NULL, -- the period's start (ms, UTC); it ends an hour or a day later
        devices       INTEGER NOT NULL, -- active devices with a report as of the period's end
        reporting     INTEGER NOT NULL, -- of them, those that sent a report within the period
        average_score REAL,             -- null when no device had reported
        grades        TEXT NOT NULL,    -- JSON {"A": n, ..., "F": n}
        scores        TEXT NOT NULL,    -- JSON: 11 counts, scores 0-9, 10-19, ..., 90-99, 100
        checks        TEXT NOT NULL,    -- JSON {"check.id": devices whose latest report has it}
        computed_at   INTEGER NOT NULL,
        PRIMARY KEY (resolution, start)
      ) STRICT, WITHOUT ROWID;
    `,
  },
  {
    version: 14,
    name: 'dashboard one-time links and sessions',
    // Only SHA-256 hashes of the link and session secrets are kept: a copy of the database opens no session.
    sql: `
      CREATE TABLE dashboard_links (
        hash        BLOB PRIMARY KEY,
        operator_id INTEGER NOT NULL REFERENCES operators(id),
        created_at  INTEGER NOT NULL,
        expires_at  INTEGER NOT NULL,
        used_at     INTEGER
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX dashboard_links_expiry ON dashboard_links(expires_at);

      CREATE TABLE dashboard_sessions (
        hash        BLOB PRIMARY KEY,
        operator_id INTEGER NOT NULL REFERENCES operators(id),
        csrf        TEXT NOT NULL,
        created_at  INTEGER NOT NULL,
        expires_at  INTEGER NOT NULL,
        ended_at    INTEGER
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX dashboard_sessions_expiry ON dashboard_sessions(expires_at);
    `,
  },
  {
    version: 15,
    name: "each device's latest report read from the index alone",
    // The posture (now, and each snapshot) reads every device's latest report: its score, grade and findings count.
    // A report row holds the whole report (a few KiB), so 10,000 of those lookups cost ~350 ms of page reads; with
    // the columns in the index the same answer is one pass over it (bench/dashboard: the overview). The findings'
    // index likewise carries what the widespread-findings count reads. Each wider index replaces the narrower one
    // it starts with, which served only lookups by that prefix.
    sql: `
      CREATE INDEX exposure_reports_latest ON exposure_reports(device_id, received_at, id, score, grade, findings);
      DROP INDEX exposure_reports_device;
      CREATE INDEX exposure_findings_checks ON exposure_findings(report_id, check_id, severity);
      DROP INDEX exposure_findings_report;
    `,
  },
  {
    version: 16,
    name: 'firmware releases and the trust documents they verify against',
    // A release is a bundle the server verified against the fleet's trust documents when it was published. Its id is
    // the SHA-256 of the bundle file, which is also the file's name under releases/ in the data folder (content
    // addressed: publishing the same bundle twice is one release). Two different bundles for the same hardware with
    // the same sequence number would make anti-rollback ambiguous, so they cannot both be releases.
    // A device's hardware id comes with its status message; rollout selectors pick devices by it.
    sql: `
      CREATE TABLE trust_documents (
        version      INTEGER PRIMARY KEY,
        document     BLOB NOT NULL,
        sha256       TEXT NOT NULL UNIQUE,
        installed_at INTEGER NOT NULL,
        installed_by TEXT
      ) STRICT;

      CREATE TABLE releases (
        id             TEXT PRIMARY KEY CHECK (length(id) = 64),
        hardware       TEXT NOT NULL,
        version        TEXT NOT NULL,
        sequence       INTEGER NOT NULL,
        size           INTEGER NOT NULL,
        payload_size   INTEGER NOT NULL,
        payload_sha256 TEXT NOT NULL,
        manifest       BLOB NOT NULL,
        signers        TEXT NOT NULL,
        expires_at     INTEGER NOT NULL,
        published_at   INTEGER NOT NULL,
        published_by   TEXT,
        UNIQUE (hardware, sequence)
      ) STRICT;

      ALTER TABLE devices ADD COLUMN hardware TEXT;
    `,
  },
  {
    version: 17,
    name: 'staged rollouts, the devices in them and their update progress',
    // A rollout offers one release to the devices its selector picked, stage by stage. rollout_devices holds each
    // device's place (its position decides its stage), its download authorisation (a hash only) and the last update
    // state it reported; update_status keeps every report, once per (device, message id). accepted_offered and
    // accepted_errors are what an operator accepted by resuming a halted rollout: its error threshold counts from
    // there. rollout_devices_state serves the engine's per-second reads (devices per state, a stage's Pending ones).
    sql: `
      CREATE TABLE rollouts (
        id                INTEGER PRIMARY KEY AUTOINCREMENT,
        release_id        TEXT NOT NULL REFERENCES releases(id),
        selector          TEXT NOT NULL,
        stages            TEXT NOT NULL,
        success_threshold REAL NOT NULL CHECK (success_threshold BETWEEN 0 AND 1),
        error_threshold   REAL NOT NULL CHECK (error_threshold BETWEEN 0 AND 1),
        min_wait_ms       INTEGER NOT NULL CHECK (min_wait_ms >= 0),
        state             TEXT NOT NULL CHECK (state IN ('running', 'paused', 'halted', 'aborted', 'completed')),
        stage             INTEGER NOT NULL DEFAULT 0 CHECK (stage >= 0),
        stage_started_at  INTEGER NOT NULL,
        stage_times       TEXT NOT NULL DEFAULT '[]',
        halt_reason       TEXT,
        accepted_offered  INTEGER NOT NULL DEFAULT 0,
        accepted_errors   INTEGER NOT NULL DEFAULT 0,
        created_at        INTEGER NOT NULL,
        created_by        TEXT,
        updated_at        INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX rollouts_state ON rollouts(state);
      -- The transition table of db/rollouts.ts, kept by the schema too: no writer can skip it.
      CREATE TRIGGER rollouts_transition BEFORE UPDATE OF state ON rollouts
        WHEN old.state <> new.state AND (old.state || '>' || new.state) NOT IN ('running>paused', 'running>halted',
          'running>aborted', 'running>completed', 'paused>running', 'paused>aborted', 'halted>running',
          'halted>aborted')
        BEGIN SELECT RAISE(ABORT, 'rollout state transition not allowed'); END;

      CREATE TABLE rollout_devices (
        rollout_id    INTEGER NOT NULL REFERENCES rollouts(id),
        device_id     TEXT NOT NULL REFERENCES devices(id),
        position      INTEGER NOT NULL,
        state         TEXT NOT NULL CHECK (state IN ('Pending', 'Offered', 'Downloading', 'Verifying', 'Installing',
                        'Rebooting', 'HealthCheck', 'Committed', 'RolledBack', 'Failed', 'Cancelled')),
        token_hash    BLOB,
        token_expires INTEGER,
        offered_at    INTEGER,
        updated_at    INTEGER NOT NULL,
        reason_code   TEXT,
        reason        TEXT,
        PRIMARY KEY (rollout_id, device_id),
        UNIQUE (rollout_id, position)
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX rollout_devices_device ON rollout_devices(device_id);
      CREATE INDEX rollout_devices_state ON rollout_devices(rollout_id, state, position);
      -- A device is in at most one rollout that may still offer it something (running, paused or halted).
      CREATE TRIGGER rollout_devices_one_open BEFORE INSERT ON rollout_devices
        WHEN EXISTS (SELECT 1 FROM rollout_devices d JOIN rollouts r ON r.id = d.rollout_id
                      WHERE d.device_id = new.device_id AND d.rollout_id <> new.rollout_id
                        AND r.state IN ('running', 'paused', 'halted'))
        BEGIN SELECT RAISE(ABORT, 'device is in another open rollout'); END;

      CREATE TABLE update_status (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        device_id   TEXT NOT NULL REFERENCES devices(id),
        message_id  TEXT NOT NULL,
        rollout_id  INTEGER NOT NULL,
        release_id  TEXT NOT NULL,
        state       TEXT NOT NULL,
        done        INTEGER,
        total       INTEGER,
        reason_code TEXT,
        reason      TEXT,
        device_ts   INTEGER NOT NULL,
        received_at INTEGER NOT NULL,
        UNIQUE (device_id, message_id)
      ) STRICT;
      CREATE INDEX update_status_rollout ON update_status(rollout_id, device_id);
    `,
  },
  {
    version: 18,
    name: 'device sealing keys',
    sql: `
      -- Each device's X25519 public keys for end-to-end sealing (shared/src/crypto/seal.ts), by key id (the first 8
      -- bytes of SHA-256 over the key). Several rows per device let a key rotate: the newest active one is sealed
      -- to, any active one opens. retired_at set: the key opens nothing any more.
      CREATE TABLE device_keys (
        device_id   TEXT NOT NULL REFERENCES devices(id),
        key_id      BLOB NOT NULL CHECK (length(key_id) = 8),
        public_key  BLOB NOT NULL CHECK (length(public_key) = 32),
        created_at  INTEGER NOT NULL,
        retired_at  INTEGER,
        PRIMARY KEY (device_id, key_id)
      ) STRICT, WITHOUT ROWID;
    `,
  },
  {
    version: 19,
    name: 'the sealing key a device uses',
    sql: `
      -- When the backend last saw the device switch to this key (its first sealed message under it since the server
      -- started, or since it used another). The backend seals to the key the device uses, not merely the newest
      -- registered: a key rotated on the server side (fleet device renew) is sealed to once the device has it.
      ALTER TABLE device_keys ADD COLUMN used_at INTEGER;
    `,
  },
  {
    version: 20,
    name: 'API token keys without their private half',
    sql: `
      -- A key held elsewhere (an HSM, another node of a cluster) verifies tokens here without its private half
      -- (db/token-keys.ts); the kid is checked as it is parsed from a token header.
      CREATE TABLE token_keys_v20 (
        kid         TEXT PRIMARY KEY CHECK (length(kid) = 16 AND kid NOT GLOB '*[^0-9a-f]*'),
        private_key TEXT,
        public_key  TEXT NOT NULL,
        created_at  INTEGER NOT NULL
      ) STRICT;
      INSERT INTO token_keys_v20 (kid, private_key, public_key, created_at)
        SELECT kid, private_key, public_key, created_at FROM token_keys;
      DROP TABLE token_keys;
      ALTER TABLE token_keys_v20 RENAME TO token_keys;
    `,
  },
  {
    version: 21,
    name: 'the node of a connection',
    sql: `
      -- The cluster node that held the session (the store's connection history, PostgreSQL migration 7); a single
      -- server writes none. A session's row is closed by (node, device, connected_at), which the node keeps unique.
      ALTER TABLE connections ADD COLUMN node TEXT;
      CREATE INDEX connections_node_open ON connections(node, device_id, connected_at) WHERE disconnected_at IS NULL;
    `,
  },
];
