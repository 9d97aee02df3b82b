// Encryption at rest (docs/encryption-at-rest.md): after a real fleet server stored an agent's telemetry and a
// device's exposure reports in a folder made with --encrypt-at-rest, no file of the data folder holds a device id,
// a metric name or a finding in the clear (raw bytes, WAL included); a missing, wrong or misplaced key is refused
// with its code and changes nothing in the folder.
import { chmodSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createAgent } from '../../agent/src/index.js';
import { sampleReport } from '../../agent/src/scan/index.js';
import { openDb } from '../../broker/src/db/open.js';
import { createFleetServer } from '../../broker/src/server.js';
import { AT_REST_MARKER, dataFolderKey, NEW_FOLDER_CIPHER } from '../../broker/src/fleet/at-rest.js';
import { openFleetDb } from '../../broker/src/fleet/data-dir.js';
import { deviceTopic, encode, readStorageKeyFile, type StorageKey } from '../../shared/src/index.js';
import { createTestFleet, testLogger, waitFor, type TestFleet } from '../helpers/fleet.js';
import { fleetCli } from '../helpers/run.js';
import { tmpDir } from '../helpers/tmp.js';

const keyDir = tmpDir('edgeward-at-rest-key-');
function makeKey(name: string): { file: string; key: StorageKey } {
  const file = join(keyDir, name);
  writeFileSync(file, `${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('hex')}\n`, {
    mode: 0o600,
  });
  return { file, key: readStorageKeyFile(file) };
}
const { file: keyFile, key } = makeKey('storage.key');
const { file: otherKeyFile } = makeKey('other.key');
const { file: agentKeyFile } = makeKey('agent.key');
const agentStorage = { storage: { key: { source: 'file', path: agentKeyFile } } };

let fleet: TestFleet;
const AGENT = 'gw-atrest-agent';
const REPORTER = 'gw-atrest-reporter';

test.before(async () => {
  // As `fleet pki init --encrypt-at-rest` makes a folder now: AEGIS-256 pages.
  fleet = await createTestFleet([AGENT, REPORTER], { storageKey: { ...key, cipher: NEW_FOLDER_CIPHER } });
});
test.after(async () => {
  await fleet.close();
});

/** Every regular file under `dir`, recursively, with its raw bytes. */
function filesUnder(dir: string): { path: string; bytes: Buffer }[] {
  const out: { path: string; bytes: Buffer }[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const info = statSync(path);
    if (info.isDirectory()) out.push(...filesUnder(path));
    else if (info.isFile()) out.push({ path, bytes: readFileSync(path) });
  }
  return out;
}

function snapshot(dir: string): string {
  return filesUnder(dir)
    .map((f) => `${f.path} ${f.bytes.length} ${f.bytes.toString('base64').slice(0, 64)}`)
    .join('\n');
}

let secrets: string[] = [];

test('a real server stores telemetry and reports in an encrypted folder; none of it is on disk in clear', async () => {
  await fleet.start();
  // A long interval after the first samples: the agent's outbox keeps unsent samples, scanned below as well.
  const agent = await createAgent({ config: fleet.agentConfig(AGENT, agentStorage), log: testLogger() });
  try {
    await waitFor(() => agent.stats().lastAckedSequence >= 2, 'two acknowledged samples');
  } finally {
    await agent.close();
  }
  const report = sampleReport(REPORTER, () => 0.3);
  const client = await fleet.connect(REPORTER);
  await client.publishAsync(deviceTopic(REPORTER, 'exposure'), encode(report), { qos: 1 });
  await client.endAsync();
  // Stored and readable through the key.
  assert.ok((fleet.db.prepare('SELECT count(*) FROM telemetry WHERE device_id = ?').pluck().get(AGENT) as number) >= 2);
  assert.is(fleet.db.prepare('SELECT count(*) FROM exposure_reports WHERE device_id = ?').pluck().get(REPORTER), 1);
  const r = await fleetCli(['report', REPORTER, '--data', fleet.dataDir, '--storage-key', keyFile, '--json']);
  assert.is(r.code, 0, r.output);
  assert.ok(report.findings.length > 0, 'the sample report has findings');
  secrets = [AGENT, REPORTER, 'cpuLoad1', 'memUsedBytes', ...report.findings.flatMap((f) => [f.title, f.evidence])];
  // Scan while the server still runs (WAL and shm present), then after it stopped.
  for (const moment of ['running', 'stopped']) {
    if (moment === 'stopped') await fleet.server.close();
    const files = [...filesUnder(fleet.dataDir), ...filesUnder(join(fleet.deviceDir(AGENT), 'state'))];
    assert.ok(files.some((f) => f.path.endsWith('agent.db')));
    assert.ok(files.some((f) => f.path.endsWith('fleet.db')));
    for (const f of files) {
      for (const s of secrets) assert.not.ok(f.bytes.includes(s), `${moment}: ${f.path} holds "${s}" in the clear`);
      assert.not.ok(f.bytes.includes('BEGIN PRIVATE KEY'), `${f.path} holds a private key in the clear`);
      // fleet.lock and agent.lock are empty databases that only carry a lock: they never hold a row.
      if (!f.path.endsWith('.lock')) {
        assert.not.ok(f.bytes.includes('SQLite format 3'), `${f.path} is a plain SQLite database`);
      }
    }
  }
});

test('without the key, with a wrong one or a key inside the folder, nothing starts and nothing changes', async () => {
  await fleet.close(); // no connection of this process is left to checkpoint the WAL while the folder is compared
  const before = snapshot(fleet.dataDir);
  const start = (storageKey?: StorageKey) =>
    createFleetServer({
      dataDir: fleet.dataDir,
      host: '127.0.0.1',
      mqttPort: 0,
      httpPort: 0,
      downloadPort: 0,
      log: testLogger(),
      ...(storageKey ? { storageKey } : {}),
    });
  const attempts: [string, () => Promise<unknown>, string][] = [
    ['no key', () => start(), 'AT_REST_KEY_MISSING'],
    ['no key (database)', async () => openFleetDb(fleet.dataDir), 'AT_REST_KEY_MISSING'],
    ['wrong key', async () => dataFolderKey(fleet.dataDir, otherKeyFile), 'AT_REST_KEY_WRONG'],
    ['wrong key to the server', () => start(readStorageKeyFile(otherKeyFile)), 'AT_REST_KEY_WRONG'],
  ];
  for (const [what, attempt, code] of attempts) {
    const err = await Promise.resolve()
      .then(attempt)
      .then(
        () => undefined,
        (e: { code?: string }) => e,
      );
    assert.is(err?.code, code, what);
    assert.is(snapshot(fleet.dataDir), before, `${what} changed the folder`);
  }
  for (const [args, code] of [
    [
      ['serve', '--data', fleet.dataDir, '--mqtt-port', '0', '--http-port', '0', '--download-port', '0'],
      'AT_REST_KEY_MISSING',
    ],
    [['device', 'list', '--data', fleet.dataDir, '--storage-key', otherKeyFile], 'AT_REST_KEY_WRONG'],
    [['db', 'check', '--data', fleet.dataDir], 'AT_REST_KEY_MISSING'],
  ] as const) {
    const r = await fleetCli([...args]);
    assert.is(r.code, 1, r.output);
    assert.match(r.stderr, new RegExp(`^error ${code}: `, 'm'));
    assert.is(snapshot(fleet.dataDir), before, `${args.join(' ')} changed the folder`);
  }
  const inside = join(fleet.dataDir, 'storage.key');
  writeFileSync(inside, readFileSync(keyFile), { mode: 0o600 });
  assert.throws(() => dataFolderKey(fleet.dataDir, inside), /inside/);
  chmodSync(keyFile, 0o644);
  assert.throws(() => dataFolderKey(fleet.dataDir, keyFile), /chmod 600/);
  chmodSync(keyFile, 0o600);
  const { rmSync } = await import('node:fs');
  rmSync(inside);
  assert.is(snapshot(fleet.dataDir), before, 'the refused attempts changed nothing in the folder');
  // The right key still opens everything.
  const r = await fleetCli(['db', 'check', '--data', fleet.dataDir, '--storage-key', keyFile]);
  assert.is(r.code, 0, r.output);
});

test("the agent's state: a missing or wrong key is refused before agent.db is opened", async () => {
  const stateDir = join(fleet.deviceDir(AGENT), 'state');
  const before = snapshot(stateDir);
  const { agentStorageKey, readAgentStatus } = await import('../../agent/src/state/index.js');
  const open = (storage: Record<string, unknown>) =>
    createAgent({ config: fleet.agentConfig(AGENT, { server: 'mqtts://127.0.0.1:1', ...storage }), log: testLogger() });
  for (const [what, storage, code] of [
    ['no key', {}, 'AT_REST_KEY_MISSING'],
    ['wrong key', { storage: { key: { source: 'file', path: otherKeyFile } } }, 'AT_REST_KEY_WRONG'],
    [
      'pkcs11 without a module',
      { storage: { key: { source: 'pkcs11', uri: 'pkcs11:token=edgeward;object=storage' } } },
      'PKCS11_MODULE',
    ],
    [
      'systemd credential outside systemd',
      { storage: { key: { source: 'systemd-credential', name: 'storage' } } },
      'AT_REST_KEY_MISSING',
    ],
  ] as const) {
    const err = await open(storage).then(
      async (a) => {
        await a.close();
        return undefined;
      },
      (e: { code?: string }) => e,
    );
    assert.is(err?.code, code, what);
    assert.is(snapshot(stateDir), before, `${what} changed the state folder`);
  }
  // The status command reads through the key, and refuses without it.
  assert.throws(
    () => readAgentStatus(stateDir),
    (e: { code?: string }) => e.code === 'AT_REST_KEY_MISSING',
  );
  assert.ok(readAgentStatus(stateDir, readStorageKeyFile(agentKeyFile)).initialized);
  // A systemd credential is read from $CREDENTIALS_DIRECTORY/<name>.
  const offline = { server: 'mqtts://127.0.0.1:1' };
  const config = fleet.agentConfig(AGENT, {
    ...offline,
    storage: { key: { source: 'systemd-credential', name: 'agent.key' } },
  });
  assert.equal(
    agentStorageKey(config, { CREDENTIALS_DIRECTORY: keyDir })?.bytes,
    readStorageKeyFile(agentKeyFile).bytes,
  );
  // A key file inside the state folder is a config error, listed with the others.
  assert.throws(
    () => fleet.agentConfig(AGENT, { ...offline, storage: { key: { source: 'file', path: join(stateDir, 'k') } } }),
    /storage\.key\.path: must be outside stateDir/,
  );
});

test('the marker names the page cipher: a folder made with ChaCha20 pages (before AEGIS) still opens', async () => {
  const marker = (dir: string) => JSON.parse(readFileSync(join(dir, AT_REST_MARKER), 'utf8')) as { cipher: string };
  assert.is(marker(fleet.dataDir).cipher, 'aegis');
  assert.is(dataFolderKey(fleet.dataDir, keyFile)!.cipher, 'aegis');
  const older = await createTestFleet(['gw-chacha'], { storageKey: { ...key, cipher: 'chacha20' } });
  try {
    await older.close();
    assert.is(marker(older.dataDir).cipher, 'chacha20');
    const found = dataFolderKey(older.dataDir, keyFile)!;
    assert.is(found.cipher, 'chacha20');
    const db = openFleetDb(older.dataDir, { storageKey: found });
    assert.is(db.prepare(`SELECT id FROM devices`).pluck().get(), 'gw-chacha');
    db.close();
    // A key without a cipher (a library caller's) takes the folder's; the wrong cipher does not open it.
    openFleetDb(older.dataDir, { storageKey: key }).close();
    const r = await fleetCli(['device', 'list', '--data', older.dataDir, '--storage-key', keyFile]);
    assert.is(r.code, 0, r.output);
    assert.match(r.stdout, /gw-chacha/);
    assert.throws(
      () => openDb(join(older.dataDir, 'fleet.db'), { storageKey: { ...key, cipher: 'aegis' } }),
      (e: { code?: string }) => e.code === 'AT_REST_KEY_WRONG',
    );
    // A marker naming a cipher this build does not know, or not JSON, is refused before any database is opened.
    const markerFile = join(older.dataDir, AT_REST_MARKER);
    const kept = readFileSync(markerFile, 'utf8');
    for (const [bad, why] of [
      [kept.replace('"chacha20"', '"rot13"'), /not a marker this build knows/],
      [kept.replace('"chacha20"', '42'), /not a marker this build knows/],
      ['{"version": 1, "cipher": ', /is damaged/],
    ] as const) {
      writeFileSync(markerFile, bad);
      assert.throws(
        () => dataFolderKey(older.dataDir, keyFile),
        (e: { code?: string; message: string }) => e.code === 'AT_REST_SEALED_FILE' && why.test(e.message),
      );
    }
    writeFileSync(markerFile, kept);
  } finally {
    await older.close();
  }
});

test('a key for a folder that is not encrypted is refused', async () => {
  const plain = await createTestFleet([]);
  try {
    assert.throws(
      () => dataFolderKey(plain.dataDir, keyFile),
      (e: { code?: string }) => e.code === 'AT_REST_NOT_ENCRYPTED',
    );
    const r = await fleetCli(['device', 'list', '--data', plain.dataDir, '--storage-key', keyFile]);
    assert.match(r.stderr, /^error AT_REST_NOT_ENCRYPTED: /m);
  } finally {
    await plain.close();
  }
});

test.run();
