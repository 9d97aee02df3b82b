// Keeps docs/errors.md and every part's errors.ts in step: each registry export named *Codes is checked. Then runs a
// table of failing invocations of the real commands: each exits with its documented code and prints exactly one
// `error CODE: …` (or `usage error: …`) line whose CODE is documented, never a stack trace, never a hang.
// To add a case, append a row to the table of its command (CASES at the end lists them).
import { execFileSync } from 'node:child_process';
import {
  closeSync,
  cpSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  truncateSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createRegistry } from '../../broker/src/db/registry.js';
import { initPki, loadCa, lockDataDir, openFleetDb } from '../../broker/src/fleet/data-dir.js';
import { provisionDevice } from '../../broker/src/fleet/provision.js';
import { createBundle, createTrust, writeKeyPair } from '../../firmware-tools/src/index.js';
import { generateKeyPair, parsePrivateKeyPem } from '../../shared/src/crypto/index.js';
import { assertErrorLine, bundleClis, type CaseOutcome, type CliCase, limited, runCase } from '../helpers/cli-cases.js';
import { fillDisk, unmountAll } from '../helpers/mounts.js';
import { tmpDir } from '../helpers/tmp.js';
import { createCsr, generateKeyPair as generateP256 } from '../../shared/src/x509.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
// Each part's errors.ts, plus shared's public face (which re-exports every shared registry).
const sources = [
  'shared/src/index.ts',
  ...['shared', 'broker', 'agent', 'firmware-tools', 'simulator'].map((p) => `${p}/src/errors.ts`),
];

async function codeRegistries(): Promise<Map<string, string>> {
  const codes = new Map<string, string>([['USAGE', 'shared/src/cli/args.ts']]);
  for (const source of sources) {
    if (!existsSync(`${root}${source}`)) continue;
    const mod = (await import(`${root}${source}`)) as Record<string, unknown>;
    for (const [name, value] of Object.entries(mod)) {
      if (!name.endsWith('Codes') || typeof value !== 'object' || value === null) continue;
      for (const code of Object.keys(value)) codes.set(code, source);
    }
  }
  return codes;
}

const doc = readFileSync(`${root}docs/errors.md`, 'utf8');
const documented = new Set([...doc.matchAll(/^\| `([A-Z][A-Z0-9_]+)` \|/gm)].map((m) => m[1]!));

test('every code in the source is documented, and every documented code exists', async () => {
  const codes = await codeRegistries();
  const missing = [...codes.keys()].filter((c) => !documented.has(c));
  const stale = [...documented].filter((c) => !codes.has(c));
  assert.equal(missing, [], `codes missing from docs/errors.md: ${missing.join(', ')}`);
  assert.equal(stale, [], `docs/errors.md lists codes that no errors.ts defines: ${stale.join(', ')}`);
});

// ---- The files the cases use: a fleet with one device, firmware keys, a trust document and a bundle, and the
// hostile kinds of path (a file where a folder belongs, a folder where a file belongs, a FIFO, nothing at all).

interface Fixture {
  readonly root: string;
  /** A unique path in the fixture's folder, for a case's own output. */
  path(name: string): string;
  /** An initialised fleet data folder where gw-001 is registered. */
  readonly data: string;
  readonly file: string;
  readonly folder: string;
  readonly fifo: string;
  readonly missing: string;
  readonly csrGarbage: string;
  readonly csrEmpty: string;
  /** A valid CSR of gw-001 (its key made here). */
  readonly csrGw001: string;
  readonly opKey: string;
  readonly relKey: string;
  readonly relPub: string;
  readonly trust: string;
  readonly payload: string;
  readonly bundle: string;
  isRegistered(id: string): boolean;
}

async function createFixture(): Promise<Fixture> {
  const dir = tmpDir('edgeward-errors-doc-');
  const path = (name: string) => join(dir, name);
  const data = path('data');
  await initPki(data);
  const db = openFleetDb(data);
  try {
    await provisionDevice(createRegistry(db), await loadCa(data), 'gw-001', path('gw-001'));
  } finally {
    db.close();
  }
  writeFileSync(path('file'), 'a regular file\n');
  mkdirSync(path('folder'));
  execFileSync('mkfifo', [path('fifo')]);
  writeFileSync(path('garbage.csr'), 'garbage\n');
  writeFileSync(path('empty.csr'), '');
  writeFileSync(path('gw-001.csr'), await createCsr('gw-001', await generateP256()));
  const op = generateKeyPair();
  await writeKeyPair(path('operator.key'), op);
  const rel = generateKeyPair();
  await writeKeyPair(path('release.key'), rel);
  const signer = parsePrivateKeyPem(readFileSync(path('release.key')), 'release.key');
  writeFileSync(path('trust.cbor'), createTrust({ rootSigners: [signer], releaseKeys: [signer.publicKey] }));
  writeFileSync(path('payload.bin'), Buffer.alloc(256 * 1024, 7));
  const spec = { hardware: 'hw-1', version: '1.0.0', sequence: 1 };
  writeFileSync(path('image.bundle'), createBundle(spec, Buffer.from('image'), [signer]));
  return {
    root: dir,
    path,
    data,
    file: path('file'),
    folder: path('folder'),
    fifo: path('fifo'),
    missing: path('no/such/file'),
    csrGarbage: path('garbage.csr'),
    csrEmpty: path('empty.csr'),
    csrGw001: path('gw-001.csr'),
    opKey: path('operator.key'),
    relKey: path('release.key'),
    relPub: path('release.key.pub'),
    trust: path('trust.cbor'),
    payload: path('payload.bin'),
    bundle: path('image.bundle'),
    isRegistered(id) {
      const d = openFleetDb(data);
      try {
        return createRegistry(d).exists(id);
      } finally {
        d.close();
      }
    },
  };
}

type Case = CliCase<Fixture>;

const isEmpty = (dir: string) => assert.equal(readdirSync(dir), [], `${dir} holds nothing`);
const noPartials = (dir: string) =>
  assert.equal(
    readdirSync(dir).filter((n) => n.includes('.partial-') || n.includes('.tmp-')),
    [],
    `no partial file in ${dir}`,
  );

// ---- fleet

/** The unreachable fleet server of the --server cases (nothing listens on port 1). */
const NOWHERE = 'https://127.0.0.1:1';
const server = (f: Fixture) => ['--server', NOWHERE, '--ca', join(f.data, 'pki', 'ca.crt'), '--credential', f.opKey];

/** The option's own check, naming the value: not parseArgs' "argument is ambiguous". */
const NEGATIVE = /^usage error: (--[\w-]+ must be a (positive|non-negative) integer|invalid --[\w-]+ "-\d+")/;

/** Usage errors from negative or out-of-range numbers: a clear message naming the option, exit 2. */
const fleetNumbers: Case[] = (
  [
    ['pki init --ca-days -1', (f) => ['pki', 'init', '--data', f.path('n1'), '--ca-days', '-1']],
    ['pki init --server-days -1', (f) => ['pki', 'init', '--data', f.path('n2'), '--server-days', '-1']],
    ['pki init --ca-days 99999', (f) => ['pki', 'init', '--data', f.path('n3'), '--ca-days', '99999'], /at most/],
    [
      'device add --days 3651 (a device certificate lives at most 10 years)',
      (f) => ['device', 'add', 'gw-n3', '--data', f.data, '--out', f.path('n7'), '--days', '3651'],
      /--days must be at most 3650 days/,
    ],
    [
      'device add --days -1',
      (f) => ['device', 'add', 'gw-n1', '--data', f.data, '--out', f.path('n4'), '--days', '-1'],
    ],
    [
      'device add --days 1e9',
      (f) => ['device', 'add', 'gw-n2', '--data', f.data, '--out', f.path('n5'), '--days', '1e9'],
      /got "1e9"/,
    ],
    [
      'device add --bulk -5',
      (f) => ['device', 'add', '--bulk', '-5', '--prefix', 'b-', '--data', f.data, '--out', f.folder],
    ],
    [
      'device renew --days -1',
      (f) => ['device', 'renew', 'gw-001', '--data', f.data, '--out', f.path('n6'), '--days', '-1'],
    ],
    ['enroll-token create --count -1', (f) => ['enroll-token', 'create', '--data', f.data, '--count', '-1']],
    ['enroll-token create --ttl -1', (f) => ['enroll-token', 'create', '--data', f.data, '--ttl', '-1']],
    [
      'cmd send --ttl -1',
      (f) => ['cmd', 'send', 'gw-001', 'reboot', '--key', f.opKey, '--data', f.data, '--ttl', '-1'],
    ],
    [
      'cmd send --wait -1',
      (f) => ['cmd', 'send', 'gw-001', 'reboot', '--key', f.opKey, '--data', f.data, '--wait', '-1'],
    ],
    ['report --history -3', (f) => ['report', 'gw-001', '--data', f.data, '--history', '-3']],
    ['report --history 5000', (f) => ['report', 'gw-001', '--data', f.data, '--history', '5000'], /at most 1000/],
    ['posture --worst -1', (f) => ['posture', '--data', f.data, '--worst', '-1']],
    [
      'posture --since 400d',
      (f) => ['posture', '--data', f.data, '--since', '400d'],
      /at most 366d with --resolution day/,
    ],
    ['posture --since 30', (f) => ['posture', '--data', f.data, '--since', '30'], /a duration \(30d, 48h\)/],
    [
      'posture --resolution hour --since 8d',
      (f) => ['posture', '--data', f.data, '--since', '8d', '--resolution', 'hour'],
      /at most 168h with --resolution hour/,
    ],
    ['cmd list --limit 5000', (f) => ['cmd', 'list', '--data', f.data, '--limit', '5000'], /at most 1000/],
    ['telemetry --limit -1', (f) => ['telemetry', 'gw-001', '--data', f.data, '--limit', '-1']],
    ['telemetry --since -1', (f) => ['telemetry', 'gw-001', '--data', f.data, '--since', '-1']],
    [
      'enroll-token create --count 10001',
      (f) => ['enroll-token', 'create', '--data', f.data, '--count', '10001'],
      /--count is at most 10000, got 10001/,
    ],
    ['posture --worst 5000', (f) => ['posture', '--data', f.data, '--worst', '5000'], /--worst is at most 1000/],
  ] as [string, Case['args'], RegExp?][]
).map(([name, args, message]) => ({ name, cli: 'fleet', args, exit: 2, code: 'USAGE', message: message ?? NEGATIVE }));

const fleetCases: Case[] = [
  {
    name: 'store migrate --from an unsupported scheme (its password never printed)',
    cli: 'fleet',
    args: (f) => ['store', 'migrate', '--from', 'mysql://root:hunter2@db/fleet', '--to', `sqlite:${f.data}`],
    exit: 1,
    code: 'FLEET_STORE_URL',
    message: /unsupported store URL scheme mysql:/,
  },
  {
    name: 'store migrate --to a PostgreSQL nobody listens on',
    cli: 'fleet',
    args: (f) => ['store', 'migrate', '--from', `sqlite:${f.data}`, '--to', 'postgres://u:hunter2@127.0.0.1:1/fleet'],
    exit: 1,
    code: 'FLEET_STORE_UNREACHABLE',
    message: /cannot reach the PostgreSQL server \(ECONNREFUSED\)/,
  },
  {
    name: 'pki init --data FILE',
    cli: 'fleet',
    args: (f) => ['pki', 'init', '--data', f.file],
    exit: 1,
    code: 'FLEET_DATA_DIR',
    message: /is a file, not a folder; give --data a folder/,
  },
  {
    name: 'pki init --data on a read-only file system',
    cli: 'fleet',
    mount: 'ro,size=1m',
    args: (_f, mnt) => ['pki', 'init', '--data', join(mnt, 'data')],
    exit: 1,
    code: 'FILE_IO',
    message: /EROFS \(read-only file system\).*writable disk/,
  },
  {
    name: 'pki init --data under /proc (refused at once: mkdir there never returns)',
    cli: 'fleet',
    args: () => ['pki', 'init', '--data', '/proc/edgeward-fleet'],
    exit: 1,
    code: 'FILE_IO',
    message: /proc file system.*writable disk/,
  },
  {
    name: 'pki init on a disk that fills up part-way leaves no half CA behind',
    cli: 'fleet',
    // the root folder, data, pki, ca.key and ca.crt: server.key finds no inode left
    mount: 'size=1m,nr_inodes=5',
    args: (_f, mnt) => ['pki', 'init', '--data', join(mnt, 'data')],
    exit: 1,
    code: 'FILE_IO',
    message: /ENOSPC.*writable disk with free space/,
    after: (_f, mnt) => isEmpty(join(mnt, 'data', 'pki')),
  },
  {
    name: 'device add --out FILE',
    cli: 'fleet',
    args: (f) => ['device', 'add', 'gw-002', '--data', f.data, '--out', f.file],
    exit: 1,
    code: 'FILE_IO',
    message: /--out .* is a file, not a folder; give --out a folder/,
    after: (f) => assert.not.ok(f.isRegistered('gw-002')),
  },
  {
    name: 'device add --out on a read-only file system',
    cli: 'fleet',
    mount: 'ro,size=1m',
    args: (f, mnt) => ['device', 'add', 'gw-003', '--data', f.data, '--out', join(mnt, 'gw-003')],
    exit: 1,
    code: 'FILE_IO',
    message: /EROFS \(read-only file system\).*writable disk/,
    after: (f) => assert.not.ok(f.isRegistered('gw-003')),
  },
  {
    name: 'device add --out under /proc',
    cli: 'fleet',
    args: (f) => ['device', 'add', 'gw-004', '--data', f.data, '--out', '/proc/edgeward-gw'],
    exit: 1,
    code: 'FILE_IO',
    message: /proc file system.*--out/,
  },
  {
    name: 'device add on a disk that fills up part-way leaves no key without its certificate',
    cli: 'fleet',
    // the root folder, gw-005 and device.key: device.crt finds no inode left
    mount: 'size=1m,nr_inodes=3',
    args: (f, mnt) => ['device', 'add', 'gw-005', '--data', f.data, '--out', join(mnt, 'gw-005')],
    exit: 1,
    code: 'FILE_IO',
    message: /ENOSPC.*writable disk/,
    after: (f, mnt) => {
      isEmpty(join(mnt, 'gw-005'));
      assert.not.ok(f.isRegistered('gw-005'));
    },
  },
  {
    name: 'device renew --csr with garbage in it',
    cli: 'fleet',
    args: (f) => ['device', 'renew', 'gw-001', '--data', f.data, '--csr', f.csrGarbage],
    exit: 1,
    code: 'FLEET_PKI_INVALID',
    message: /not a PEM certificate signing request.*openssl req -new -key device.key/,
  },
  {
    name: 'device renew --csr with an empty file (not "no CSR")',
    cli: 'fleet',
    args: (f) => ['device', 'renew', 'gw-001', '--data', f.data, '--csr', f.csrEmpty],
    exit: 1,
    code: 'FLEET_PKI_INVALID',
    message: /not a PEM certificate signing request/,
  },
  {
    name: 'device renew --csr /missing',
    cli: 'fleet',
    args: (f) => ['device', 'renew', 'gw-001', '--data', f.data, '--csr', f.missing],
    exit: 1,
    code: 'FILE_IO',
    message: /ENOENT \(no such file or folder\); give --csr the certificate signing request/,
  },
  {
    name: 'device renew --csr FIFO (refused at once)',
    cli: 'fleet',
    args: (f) => ['device', 'renew', 'gw-001', '--data', f.data, '--csr', f.fifo],
    exit: 1,
    code: 'FILE_IO',
    message: /it is a FIFO/,
  },
  {
    name: 'device renew --seal-key without --csr',
    cli: 'fleet',
    args: (f) => ['device', 'renew', 'gw-001', '--data', f.data, '--out', f.path('s1'), '--seal-key', f.relPub],
    exit: 2,
    code: 'USAGE',
    message: /--seal-key goes with --csr/,
  },
  ...(
    [
      ['FOLDER', (f: Fixture) => f.folder, 'FILE_IO', /it is a folder/],
      ['FIFO (refused at once)', (f: Fixture) => f.fifo, 'FILE_IO', /it is a FIFO/],
      ['/missing', (f: Fixture) => f.missing, 'FILE_IO', /ENOENT.*give --seal-key the device's new X25519/],
      ['an Ed25519 key', (f: Fixture) => f.relPub, 'FLEET_SEAL_KEY_INVALID', /not an X25519 public key/],
      ['a private key', (f: Fixture) => f.opKey, 'FLEET_SEAL_KEY_INVALID', /is a private key: give only the public/],
    ] as const
  ).map(
    ([what, file, code, message]): Case => ({
      name: `device renew --csr --seal-key ${what}`,
      cli: 'fleet',
      args: (f) => ['device', 'renew', 'gw-001', '--data', f.data, '--csr', f.csrGw001, '--seal-key', file(f)],
      exit: 1,
      code,
      message,
    }),
  ),
  {
    name: 'device renew --csr FOLDER',
    cli: 'fleet',
    args: (f) => ['device', 'renew', 'gw-001', '--data', f.data, '--csr', f.folder],
    exit: 1,
    code: 'FILE_IO',
    message: /it is a folder/,
  },
  {
    name: 'operator-key create --out on a read-only file system',
    cli: 'fleet',
    mount: 'ro,size=1m',
    args: (_f, mnt) => ['operator-key', 'create', '--out', join(mnt, 'op.key')],
    exit: 1,
    code: 'FILE_IO',
    message: /EROFS \(read-only file system\); give --out a file path on a writable disk/,
  },
  {
    name: 'operator-key create --out under /proc',
    cli: 'fleet',
    args: () => ['operator-key', 'create', '--out', '/proc/edgeward-op.key'],
    exit: 1,
    code: 'FILE_IO',
    message: /proc file system/,
  },
  {
    name: 'operator-key create --out FOLDER',
    cli: 'fleet',
    args: (f) => ['operator-key', 'create', '--out', f.folder],
    exit: 1,
    code: 'FILE_IO',
    message: /it is a folder, not a file/,
  },
  {
    name: 'operator-key create whose FILE.pub exists writes no private key',
    cli: 'fleet',
    setup: (f) => writeFileSync(f.path('op2.key.pub'), 'someone else’s key\n'),
    args: (f) => ['operator-key', 'create', '--out', f.path('op2.key')],
    exit: 1,
    code: 'FILE_EXISTS',
    message: /op2\.key\.pub already exists; pass --force/,
    after: (f) => assert.not.ok(existsSync(f.path('op2.key')), 'no private key without its public half'),
  },
  {
    name: 'cmd send --key /missing',
    cli: 'fleet',
    args: (f) => ['cmd', 'send', 'gw-001', 'reboot', '--key', f.missing, '--data', f.data],
    exit: 1,
    code: 'FILE_IO',
    message: /ENOENT \(no such file or folder\); give --key the operator's private key.*operator-key create/,
  },
  {
    name: 'cmd send --key FIFO (refused at once)',
    cli: 'fleet',
    args: (f) => ['cmd', 'send', 'gw-001', 'reboot', '--key', f.fifo, '--data', f.data],
    exit: 1,
    code: 'FILE_IO',
    message: /it is a FIFO/,
  },
  ...fleetNumbers,
  ...targetCases(),
];

/** Where a command acts (--data DIR or --server URL --ca FILE --credential FILE), and the options of each side. */
function targetCases(): Case[] {
  const usage = (name: string, args: Case['args'], message: RegExp): Case => ({
    name,
    cli: 'fleet',
    args,
    exit: 2,
    code: 'USAGE',
    message,
  });
  return [
    usage('device list with neither --data nor --server', () => ['device', 'list'], /give --data DIR .* or --server/),
    usage(
      'device list with both --data and --server',
      (f) => ['device', 'list', '--data', f.data, ...server(f)],
      /either --data DIR or --server URL, not both/,
    ),
    usage(
      'device list --server without --ca',
      (f) => ['device', 'list', '--server', NOWHERE, '--credential', f.opKey],
      /--server needs --ca FILE/,
    ),
    usage(
      'device list --server without --credential (and no EDGEWARD_TOKEN)',
      (f) => ['device', 'list', '--server', NOWHERE, '--ca', join(f.data, 'pki', 'ca.crt')],
      /--server needs --credential FILE \(or a token in EDGEWARD_TOKEN\)/,
    ),
    usage(
      'device list --data with --ca (it goes with --server)',
      (f) => ['device', 'list', '--data', f.data, '--ca', join(f.data, 'pki', 'ca.crt')],
      /--ca and --credential go with --server/,
    ),
    usage(
      'device list --server http:// (not https)',
      (f) => ['device', 'list', ...server(f).map((a) => (a === NOWHERE ? 'http://127.0.0.1:1' : a))],
      /must be an https:\/\/ URL/,
    ),
    usage(
      'cmd send --server with --key (the credential signs)',
      (f) => ['cmd', 'send', 'gw-001', 'reboot', '--key', f.opKey, ...server(f)],
      /signed with the operator's --credential; drop --key/,
    ),
    usage(
      'audit --server with --config (the server uses its own)',
      (f) => ['audit', '--config', f.file, ...server(f)],
      /--config goes with --data/,
    ),
    usage(
      'telemetry --from and --since',
      (f) => ['telemetry', 'gw-001', '--data', f.data, '--from', '2025-01-01T00:00:00Z', '--since', '1h'],
      /--from or --since, not both/,
    ),
    usage(
      'telemetry --from that is not a time',
      (f) => ['telemetry', 'gw-001', '--data', f.data, '--from', 'yesterday'],
      /--from must be a time in ISO 8601/,
    ),
    usage(
      'telemetry --from after --to',
      (f) => [
        'telemetry',
        'gw-001',
        '--data',
        f.data,
        '--from',
        '2025-02-01T00:00:00Z',
        '--to',
        '2025-01-01T00:00:00Z',
      ],
      /--from must be before --to/,
    ),
    {
      name: 'device list --server with --ca /missing',
      cli: 'fleet',
      args: (f) => ['device', 'list', '--server', NOWHERE, '--ca', f.missing, '--credential', f.opKey],
      exit: 1,
      code: 'FILE_IO',
      message: /ENOENT/,
    },
    {
      name: 'device list --server with a --ca that is not a certificate',
      cli: 'fleet',
      args: (f) => ['device', 'list', '--server', NOWHERE, '--ca', f.file, '--credential', f.opKey],
      exit: 1,
      code: 'FLEET_PKI_INVALID',
      message: /--ca .*file is not a PEM certificate \(give the fleet CA/,
    },
    {
      name: 'device list --server where nothing listens',
      cli: 'fleet',
      args: (f) => ['device', 'list', ...server(f)],
      exit: 1,
      code: 'API_UNAVAILABLE',
      message: /cannot reach the fleet server at https:\/\/127\.0\.0\.1:1: ECONNREFUSED/,
    },
    {
      name: 'device add --server --out FILE: refused before any request',
      cli: 'fleet',
      args: (f) => ['device', 'add', 'gw-009', '--out', f.file, ...server(f)],
      exit: 1,
      code: 'FILE_IO',
      message: /is a file, not a folder; give --out a folder/,
    },
  ];
}

// ---- fleet db stats, fleet db vacuum

/** Held by the test while a case runs, as a fleet server holds its folder. */
let heldLock: { release(): void } | undefined;

const fleetDbCases: Case[] = [
  ...(['stats', 'vacuum'] as const).flatMap((command): Case[] => [
    {
      name: `db ${command} without --data`,
      cli: 'fleet',
      args: () => ['db', command],
      exit: 2,
      code: 'USAGE',
      message: /^usage error: --data is required/,
    },
    {
      name: `db ${command} --data FOLDER that is not a fleet data folder`,
      cli: 'fleet',
      args: (f) => ['db', command, '--data', f.folder],
      exit: 1,
      code: 'FLEET_DATA_DIR',
      message: /is not an initialised fleet data folder; run `fleet pki init/,
      after: (f) => isEmpty(f.folder), // vacuum took no lock there
    },
    {
      name: `db ${command} --data /missing`,
      cli: 'fleet',
      args: (f) => ['db', command, '--data', f.missing],
      exit: 1,
      code: 'FLEET_DATA_DIR',
    },
  ]),
  {
    name: 'db shrink (no such command)',
    cli: 'fleet',
    args: (f) => ['db', 'shrink', '--data', f.data],
    exit: 2,
    code: 'USAGE',
    message: /^usage error: unknown command "shrink"/,
  },
  {
    name: 'db stats --config /missing',
    cli: 'fleet',
    args: (f) => ['db', 'stats', '--data', f.data, '--config', f.missing],
    exit: 1,
    code: 'FLEET_CONFIG_INVALID',
    message: /cannot read config/,
  },
  {
    name: 'db vacuum while a server holds the data folder',
    cli: 'fleet',
    setup: (f) => {
      heldLock = lockDataDir(f.data);
    },
    args: (f) => ['db', 'vacuum', '--data', f.data],
    exit: 1,
    code: 'FLEET_DATA_IN_USE',
    message: /a fleet server is running on .*: stop it, run `fleet db vacuum`, then start it again/,
    after: () => heldLock?.release(),
  },
];

// ---- fw

/** Every input file of every fw subcommand: its option (or what the positional argument is) and the arguments. */
const fwInputs: [string, string, (f: Fixture, p: string) => string[]][] = [
  ['verify', 'bundle', (f, p) => ['verify', p, '--trust', f.trust]],
  ['verify', '--trust', (f, p) => ['verify', f.bundle, '--trust', p]],
  ['verify', '--root-key', (f, p) => ['verify', f.bundle, '--trust', f.trust, '--root-key', p]],
  ['inspect', 'bundle', (_f, p) => ['inspect', p]],
  ['sign', '--key', (f, p) => ['sign', '--key', p, '--payload', f.payload, ...releaseArgs, '--out', f.path('s1')]],
  ['sign', '--payload', (f, p) => ['sign', '--key', f.relKey, ...releaseArgs, '--payload', p, '--out', f.path('s2')]],
  ['sign', '--notes-file', (f, p) => [...signArgs(f, f.path('s3.bundle')), '--notes-file', p]],
  ['trust show', 'trust document', (_f, p) => ['trust', 'show', p]],
  [
    'trust init',
    '--root-key',
    (f, p) => ['trust', 'init', '--root-key', p, '--release-key', f.relPub, '--out', f.path('t1')],
  ],
  [
    'trust init',
    '--release-key',
    (f, p) => ['trust', 'init', '--root-key', f.relKey, '--release-key', p, '--out', f.path('t2')],
  ],
  ['trust add-release-key', '--trust', (f, p) => trustUpdate('add-release-key', f, p, f.relKey, f.relPub)],
  ['trust add-release-key', '--root-key', (f, p) => trustUpdate('add-release-key', f, f.trust, p, f.relPub)],
  ['trust add-release-key', '--release-key', (f, p) => trustUpdate('add-release-key', f, f.trust, f.relKey, p)],
  ['trust remove-release-key', '--trust', (f, p) => trustUpdate('remove-release-key', f, p, f.relKey, f.relPub)],
  ['trust remove-release-key', '--release-key', (f, p) => trustUpdate('remove-release-key', f, f.trust, f.relKey, p)],
  ['trust rotate-root', '--trust', (f, p) => rotate(f, p, f.relKey, f.relKey)],
  ['trust rotate-root', '--root-key', (f, p) => rotate(f, f.trust, p, f.relKey)],
  ['trust rotate-root', '--new-root-key', (f, p) => rotate(f, f.trust, f.relKey, p)],
];

const releaseArgs = ['--hardware', 'hw-1', '--version', '1.0.0', '--sequence', '2'];
function signArgs(f: Fixture, out: string): string[] {
  return ['sign', '--payload', f.payload, ...releaseArgs, '--key', f.relKey, '--out', out];
}
function trustUpdate(kind: string, f: Fixture, trust: string, rootKey: string, releaseKey: string): string[] {
  const out = f.path(`${kind}.cbor`);
  return ['trust', kind, '--trust', trust, '--root-key', rootKey, '--release-key', releaseKey, '--out', out];
}
function rotate(f: Fixture, trust: string, rootKey: string, newRootKey: string): string[] {
  const out = f.path('rotated.cbor');
  return ['trust', 'rotate-root', '--trust', trust, '--root-key', rootKey, '--new-root-key', newRootKey, '--out', out];
}

const BAD_INPUTS: [string, (f: Fixture) => string, RegExp][] = [
  ['missing', (f) => f.missing, /ENOENT \(no such file or folder\)/],
  ['a folder', (f) => f.folder, /it is a folder/],
  ['a FIFO (refused at once)', (f) => f.fifo, /it is a FIFO/],
];

/** A file that cannot be read is FW_IO, exit 1 (docs/errors.md), naming the option it came from. */
const fwInputCases: Case[] = fwInputs.flatMap(([command, flag, args]) =>
  BAD_INPUTS.map(([kind, path, reason]) => ({
    name: `${command} ${flag}: ${kind}`,
    cli: 'fw',
    args: (f: Fixture) => args(f, path(f)),
    exit: 1,
    code: 'FW_IO',
    message: new RegExp(`^error FW_IO: ${flag}: cannot read .*${reason.source}`),
  })),
);

const fwNumbers: Case[] = (
  [
    ['sign --sequence -1', (f) => [...signArgs(f, f.path('n.bundle')), '--sequence', '-1']],
    ['sign --expires -1', (f) => [...signArgs(f, f.path('n.bundle')), '--expires', '-1']],
    ['sign --expires 99999999d', (f) => [...signArgs(f, f.path('n.bundle')), '--expires', '99999999d'], /at most/],
    [
      'verify --root-threshold -1',
      (f) => ['verify', f.bundle, '--trust', f.trust, '--root-key', f.relPub, '--root-threshold', '-1'],
    ],
    ['verify --installed-sequence -1', (f) => ['verify', f.bundle, '--trust', f.trust, '--installed-sequence', '-1']],
    [
      'trust init --threshold -1',
      (f) => [
        'trust',
        'init',
        '--root-key',
        f.relKey,
        '--release-key',
        f.relPub,
        '--threshold',
        '-1',
        '--out',
        f.path('n1'),
      ],
    ],
    [
      'trust init --root-threshold -1',
      (f) => [
        'trust',
        'init',
        '--root-key',
        f.relKey,
        '--release-key',
        f.relPub,
        '--root-threshold',
        '-1',
        '--out',
        f.path('n2'),
      ],
    ],
    [
      'trust init --expires -1',
      (f) => [
        'trust',
        'init',
        '--root-key',
        f.relKey,
        '--release-key',
        f.relPub,
        '--expires',
        '-1',
        '--out',
        f.path('n3'),
      ],
    ],
    [
      'trust add-release-key --threshold -2',
      (f) => [...trustUpdate('add-release-key', f, f.trust, f.relKey, f.relPub), '--threshold', '-2'],
    ],
    [
      'trust rotate-root --root-threshold -2',
      (f) => [...rotate(f, f.trust, f.relKey, f.relKey), '--root-threshold', '-2'],
    ],
  ] as [string, Case['args'], RegExp?][]
).map(([name, args, message]) => ({ name, cli: 'fw', args, exit: 2, code: 'USAGE', message: message ?? NEGATIVE }));

const fwCases: Case[] = [
  {
    name: 'sign --out FOLDER: refused before hashing, and no partial bundle left',
    cli: 'fw',
    setup: (f) => mkdirSync(f.path('sign-out/folder'), { recursive: true }),
    args: (f) => signArgs(f, f.path('sign-out/folder')),
    exit: 1,
    code: 'FW_IO',
    message: /folder: it is a folder; give the path of a file/,
    after: (f) => {
      noPartials(f.path('sign-out'));
      isEmpty(f.path('sign-out/folder'));
    },
  },
  {
    name: 'sign --out under /proc',
    cli: 'fw',
    args: (f) => signArgs(f, '/proc/edgeward/image.bundle'),
    exit: 1,
    code: 'FW_IO',
    message: /proc file system/,
  },
  {
    name: 'sign --out on a read-only file system',
    cli: 'fw',
    mount: 'ro,size=1m',
    args: (f, mnt) => signArgs(f, join(mnt, 'image.bundle')),
    exit: 1,
    code: 'FW_IO',
    message: /EROFS \(read-only file system\)/,
  },
  {
    name: 'sign --out on a disk too small for the bundle leaves no partial bundle',
    cli: 'fw',
    mount: 'size=64k',
    args: (f, mnt) => signArgs(f, join(mnt, 'image.bundle')),
    exit: 1,
    code: 'FW_IO',
    message: /ENOSPC/,
    after: (_f, mnt) => isEmpty(mnt),
  },
  {
    name: 'keygen --out under /proc',
    cli: 'fw',
    args: () => ['keygen', '--out', '/proc/edgeward/k.pem'],
    exit: 1,
    code: 'FW_IO',
    message: /proc file system/,
  },
  {
    name: 'keygen --out FOLDER --force',
    cli: 'fw',
    args: (f) => ['keygen', '--out', f.folder, '--force'],
    exit: 1,
    code: 'FW_IO',
    message: /it is a folder/,
  },
  {
    name: 'keygen --out on a read-only file system',
    cli: 'fw',
    mount: 'ro,size=1m',
    args: (_f, mnt) => ['keygen', '--out', join(mnt, 'k.pem')],
    exit: 1,
    code: 'FW_IO',
    message: /EROFS \(read-only file system\)/,
  },
  {
    name: 'keygen on a disk with room for the private key only leaves no key without its pair',
    cli: 'fw',
    // tmpfs counts a hard link as an inode: the root folder, k.pem's temporary file and its link; after the
    // temporary file goes, k.pem.pub's temporary file takes the last one and linking it fails
    mount: 'size=1m,nr_inodes=3',
    args: (_f, mnt) => ['keygen', '--out', join(mnt, 'k.pem')],
    exit: 1,
    code: 'FW_IO',
    message: /k\.pem\.pub: ENOSPC/,
    after: (_f, mnt) => isEmpty(mnt),
  },
  {
    name: 'trust init --out FOLDER --force',
    cli: 'fw',
    setup: (f) => mkdirSync(f.path('trust-out/folder'), { recursive: true }),
    args: (f) => [
      ...['trust', 'init', '--root-key', f.relKey, '--release-key', f.relPub],
      ...['--out', f.path('trust-out/folder'), '--force'],
    ],
    exit: 1,
    code: 'FW_IO',
    message: /it is a folder/,
    after: (f) => noPartials(f.path('trust-out')),
  },
  {
    name: 'trust init --out under /proc',
    cli: 'fw',
    args: (f) => ['trust', 'init', '--root-key', f.relKey, '--release-key', f.relPub, '--out', '/proc/t.cbor'],
    exit: 1,
    code: 'FW_IO',
    message: /proc file system/,
  },
  {
    name: 'trust init --out on a read-only file system',
    cli: 'fw',
    mount: 'ro,size=1m',
    args: (f, mnt) => [
      'trust',
      'init',
      '--root-key',
      f.relKey,
      '--release-key',
      f.relPub,
      '--out',
      join(mnt, 't.cbor'),
    ],
    exit: 1,
    code: 'FW_IO',
    message: /EROFS \(read-only file system\)/,
  },
  ...fwInputCases,
  ...fwNumbers,
];

// ---- fleet serve: a data folder whose database was lost or damaged, bad ports and config. Each case serves its own
// copy of the fixture's folder (damaged in setup) and must stop before it listens.

/** A copy of the fixture's data folder for one case; `damage` breaks its fleet.db. */
function brokenCopy(f: Fixture, name: string, damage: (db: string) => void): string {
  const copy = f.path(`serve-${name}`);
  cpSync(f.data, copy, { recursive: true });
  damage(join(copy, 'fleet.db'));
  return copy;
}

const serve = (data: string, ...more: string[]) => ['serve', '--data', data, ...more];

const serveCases: Case[] = [
  {
    name: 'serve on an empty fleet.db (refused: a fresh schema would forget every device)',
    cli: 'fleet',
    args: (f) => serve(f.path('serve-empty')),
    setup: (f) => void brokenCopy(f, 'empty', (db) => truncateSync(db, 0)),
    exit: 1,
    code: 'FLEET_DB_MISSING',
    message: /--init-empty-db/,
  },
  {
    name: 'serve on a missing fleet.db',
    cli: 'fleet',
    args: (f) => serve(f.path('serve-missing')),
    setup: (f) => void brokenCopy(f, 'missing', (db) => rmSync(db)),
    exit: 1,
    code: 'FLEET_DB_MISSING',
  },
  {
    name: 'serve on a truncated fleet.db',
    cli: 'fleet',
    args: (f) => serve(f.path('serve-truncated')),
    setup: (f) => void brokenCopy(f, 'truncated', (db) => truncateSync(db, 5000)),
    exit: 1,
    code: 'FLEET_DB_CORRUPT',
  },
  {
    name: 'serve on a fleet.db with a garbage header',
    cli: 'fleet',
    args: (f) => serve(f.path('serve-header')),
    setup: (f) =>
      void brokenCopy(f, 'header', (db) => {
        const fd = openSync(db, 'r+');
        writeSync(fd, Buffer.alloc(100, 0x5a), 0, 100, 0);
        closeSync(fd);
      }),
    exit: 1,
    code: 'FLEET_DB_CORRUPT',
  },
  {
    name: 'serve where fleet.db is a folder',
    cli: 'fleet',
    args: (f) => serve(f.path('serve-folder')),
    setup: (f) =>
      void brokenCopy(f, 'folder', (db) => {
        rmSync(db);
        mkdirSync(db);
      }),
    exit: 1,
    code: 'FLEET_DB_IO',
  },
  {
    name: 'serve on a full disk',
    cli: 'fleet',
    mount: 'size=2m',
    args: (_f, mnt) => serve(join(mnt, 'data')),
    setup: (f, mnt) => {
      cpSync(f.data, join(mnt, 'data'), { recursive: true });
      fillDisk(join(mnt, 'filler'));
    },
    exit: 1,
    code: 'FLEET_DB_FULL',
  },
  {
    name: 'serve --config FIFO (refused at once)',
    cli: 'fleet',
    args: (f) => serve(f.data, '--config', f.fifo),
    exit: 1,
    code: 'FLEET_CONFIG_INVALID',
    message: /a FIFO/,
  },
  {
    name: 'serve --mqtt-port 65536',
    cli: 'fleet',
    args: (f) => serve(f.data, '--mqtt-port', '65536'),
    exit: 2,
    code: 'USAGE',
    message: /--mqtt-port must be a port number from 0 to 65535/,
  },
  {
    name: 'serve --http-port -1',
    cli: 'fleet',
    args: (f) => serve(f.data, '--http-port', '-1'),
    exit: 2,
    code: 'USAGE',
    message: /--http-port must be a port number/,
  },
  {
    name: 'serve --host 8.8.8.8 (an address of another machine)',
    cli: 'fleet',
    args: (f) =>
      serve(
        brokenCopy(f, 'host', () => {}),
        '--host',
        '8.8.8.8',
      ),
    exit: 1,
    code: 'FLEET_LISTEN',
  },
  {
    name: 'serve --cluster without --redis',
    cli: 'fleet',
    args: (f) => serve(f.data, '--cluster', '--node-id', 'n1'),
    exit: 2,
    code: 'USAGE',
    message: /--cluster needs --redis/,
  },
  {
    name: 'serve --cluster --node-id with capitals',
    cli: 'fleet',
    args: (f) => serve(f.data, '--cluster', '--redis', 'redis://127.0.0.1:1', '--node-id', 'Node_A'),
    exit: 2,
    code: 'USAGE',
    message: /--node-id must be 1 to 32 of a-z, 0-9 and -/,
  },
  {
    name: 'serve --redis without --cluster',
    cli: 'fleet',
    args: (f) => serve(f.data, '--redis', 'redis://127.0.0.1:1'),
    exit: 2,
    code: 'USAGE',
    message: /--redis needs --cluster/,
  },
  {
    name: 'serve --cluster with nothing listening at --redis (refused at once, nothing left running)',
    cli: 'fleet',
    args: (f) =>
      serve(
        brokenCopy(f, 'redis', () => {}),
        '--cluster',
        '--redis',
        'redis://127.0.0.1:1',
        '--node-id',
        'n1',
      ),
    exit: 1,
    code: 'FLEET_REDIS_UNREACHABLE',
    message: /unreachable .*start it or fix --redis/,
  },
];

// ---- iot-agent: an identity that cannot work, and inputs that would hang.

/** An agent config for gw-001 with `over` changed, written to the fixture's folder; returns its path. */
function agentConfig(f: Fixture, name: string, over: Record<string, unknown>): string {
  const dir = f.path('gw-001');
  const file = f.path(`agent-${name}.json`);
  const config = {
    server: 'mqtts://127.0.0.1:1',
    deviceId: 'gw-001',
    cert: join(dir, 'device.crt'),
    key: join(dir, 'device.key'),
    ca: join(dir, 'ca.crt'),
    stateDir: f.path(`agent-state-${name}`),
    scan: { enabled: false },
    ...over,
  };
  writeFileSync(file, JSON.stringify(config));
  return file;
}

const agentCases: Case[] = [
  {
    name: 'run --config FIFO (refused at once)',
    cli: 'iot-agent',
    args: (f) => ['run', '--config', f.fifo],
    exit: 1,
    code: 'AGENT_CONFIG_UNREADABLE',
  },
  {
    name: 'run with garbage in the key file',
    cli: 'iot-agent',
    args: (f) => ['run', '--config', agentConfig(f, 'garbage-key', { key: f.csrGarbage })],
    exit: 1,
    code: 'AGENT_IDENTITY',
  },
  {
    name: 'run with a deviceId that is not the certificate CN',
    cli: 'iot-agent',
    args: (f) => ['run', '--config', agentConfig(f, 'other-id', { deviceId: 'gw-999' })],
    exit: 1,
    code: 'AGENT_IDENTITY',
  },
  {
    name: 'status with a state folder that is a file',
    cli: 'iot-agent',
    args: (f) => ['status', '--config', agentConfig(f, 'state-file', { stateDir: f.file })],
    exit: 1,
    code: 'AGENT_STATE_DIR',
  },
];

const CASES: readonly Case[] = [...fleetCases, ...fleetDbCases, ...fwCases, ...serveCases, ...agentCases];

let fixture: Fixture;
let outcomes: Promise<CaseOutcome>[] = [];

test.before(async () => {
  const bundles = bundleClis();
  fixture = await createFixture();
  // Two at a time: each case is a Node process, on a machine of two cores.
  outcomes = limited(
    CASES.map((c) => () => runCase(c, fixture, bundles)),
    2,
  );
});

test.after(() => unmountAll());

for (const [i, c] of CASES.entries()) {
  test(`${c.cli} ${c.name}`, async () => {
    const outcome = await outcomes[i]!;
    if ('skip' in outcome) {
      console.log(`SKIP ${c.cli} ${c.name}: ${outcome.skip}`);
      return;
    }
    assertErrorLine(c, outcome.result, documented);
    c.after?.(fixture, outcome.mnt);
  });
}

test.run();
