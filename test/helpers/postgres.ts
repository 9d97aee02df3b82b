// A real PostgreSQL server for tests, from Debian's packages: initdb into a temporary folder (scram-sha-256 with a
// generated password), `postgres` on 127.0.0.1 and a free port with its socket in that folder, ready once it
// answers a query; databases made on demand; stopped with SIGINT (fast shutdown), waiting for it to exit.
// As root the server runs as the postgres user (it refuses to run as root).
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from './mosquitto.js';
import { tmpDir } from './tmp.js';

export const POSTGRES_INSTALL = 'apt-get install -y postgresql (and put /usr/lib/postgresql/15/bin on PATH)';

export interface RunningPostgres {
  readonly port: number;
  readonly password: string;
  /** postgres://postgres:…@127.0.0.1:port/NAME */
  url(database: string): string;
  /** Creates a fresh database; returns its URL. */
  createDatabase(name?: string): Promise<string>;
  stop(): Promise<void>;
}

const isRoot = () => process.getuid?.() === 0;
const asPostgres = (cmd: string, args: string[]): [string, string[]] =>
  isRoot() ? ['setpriv', ['--reuid=postgres', '--regid=postgres', '--init-groups', '--', cmd, ...args]] : [cmd, args];

let made = 0;

async function waitReady(url: string, child: ChildProcess, log: () => string, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`postgres exited with ${child.exitCode}:\n${log()}`);
    const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
    try {
      await c.connect();
      await c.query('SELECT 1');
      await c.end();
      return;
    } catch {
      await c.end().catch(() => {});
    }
    if (Date.now() > until) throw new Error(`postgres did not become ready:\n${log()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface StartPostgresOptions {
  /** Keep fsync and synchronous commit on (for measurements against durable SQLite); tests leave them off. */
  readonly durable?: boolean;
}

export async function startPostgres(opts: StartPostgresOptions = {}): Promise<RunningPostgres> {
  const dir = tmpDir('edgeward-pg-');
  const home = join(dir, 'pg');
  mkdirSync(home);
  const password = randomBytes(18).toString('base64url');
  writeFileSync(join(home, 'pw'), `${password}\n`, { mode: 0o600 });
  if (isRoot()) {
    chmodSync(dir, 0o711); // mkdtemp makes 0700 folders the postgres user cannot cross
    execFileSync('chown', ['-R', 'postgres', home]);
  }
  const [initCmd, initArgs] = asPostgres('initdb', [
    '-D',
    join(home, 'data'),
    '-A',
    'scram-sha-256',
    '-U',
    'postgres',
    `--pwfile=${join(home, 'pw')}`,
    '--locale=C.UTF-8',
    '--encoding=UTF8',
    '--no-sync',
  ]);
  execFileSync(initCmd, initArgs, { stdio: 'ignore' });
  const port = await freePort();
  const [cmd, args] = asPostgres('postgres', [
    '-D',
    join(home, 'data'),
    '-k',
    home,
    '-h',
    '127.0.0.1',
    '-p',
    String(port),
    // A test server: its data is thrown away, so durability costs only time.
    ...(opts.durable ? [] : ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off']),
  ]);
  const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const onExit = () => child.kill('SIGKILL');
  process.once('exit', onExit);
  const url = (database: string) =>
    `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
  try {
    await waitReady(url('postgres'), child, () => stderr);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return {
    port,
    password,
    url,
    async createDatabase(name = `t${process.pid}_${++made}`) {
      const c = new pg.Client({ connectionString: url('postgres') });
      await c.connect();
      try {
        await c.query(`CREATE DATABASE "${name.replace(/"/g, '')}"`);
      } finally {
        await c.end();
      }
      return url(name);
    },
    async stop() {
      process.removeListener('exit', onExit);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
      await exited;
    },
  };
}
