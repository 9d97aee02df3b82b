// Health probes of the local cluster's parts, each bounded in time and never throwing: a free port, an open port,
// Redis PING (with its password), a PostgreSQL query, a node's /readyz, HAProxy's `show stat`.
import { request } from 'node:https';
import { connect, createServer } from 'node:net';
import pg from 'pg';

/** A port that was free a moment ago on `host` (the OS picks it). */
export function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Whether something accepts TCP connections on host:port. */
export function portOpen(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const c = connect({ host, port });
    const done = (ok: boolean) => {
      c.destroy();
      resolve(ok);
    };
    c.setTimeout(timeoutMs, () => done(false));
    c.once('connect', () => done(true));
    c.once('error', () => done(false));
  });
}

/** Sends RESP commands and collects the reply text until `until` matches it (or the time is up). */
function resp(
  target: { host: string; port: number } | { path: string },
  payload: string,
  until: (text: string) => boolean,
  timeoutMs: number,
): Promise<string> {
  return new Promise((resolve) => {
    const c = 'path' in target ? connect(target.path) : connect(target.port, target.host);
    let text = '';
    const done = () => {
      c.destroy();
      resolve(text);
    };
    c.setTimeout(timeoutMs, done);
    c.on('data', (d: Buffer) => {
      text += d.toString('utf8');
      if (text.length > 1_000_000 || until(text)) done();
    });
    c.once('error', done);
    c.once('end', done);
    c.once('connect', () => c.write(payload));
  });
}

const command = (...args: string[]) =>
  `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;

/** PING after AUTH: true only for +PONG. */
export async function redisPing(host: string, port: number, password: string, timeoutMs = 1000): Promise<boolean> {
  const text = await resp(
    { host, port },
    command('AUTH', password) + command('PING'),
    (t) => t.includes('\r\n+PONG') || t.startsWith('-'),
    timeoutMs,
  );
  return text.startsWith('+OK\r\n+PONG');
}

/** SHUTDOWN (which writes the append-only file first); the connection closes when Redis has gone. */
export async function redisShutdown(host: string, port: number, password: string): Promise<void> {
  await resp({ host, port }, command('AUTH', password) + command('SHUTDOWN'), () => false, 5000);
}

export interface PostgresTarget {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly database: string;
}

/** Runs `sql` (default SELECT 1); true when it answered. */
export async function postgresQuery(t: PostgresTarget, sql = 'SELECT 1', timeoutMs = 2000): Promise<boolean> {
  const client = new pg.Client({ ...t, connectionTimeoutMillis: timeoutMs, query_timeout: timeoutMs });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query(sql);
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

/** A node's /readyz status code over HTTPS, its certificate checked against the fleet CA (0: no answer). */
export function nodeReadyz(host: string, port: number, ca: Buffer, timeoutMs = 2000): Promise<number> {
  return new Promise((resolve) => {
    const req = request({ host, port, path: '/readyz', method: 'GET', ca, timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
    req.end();
  });
}

/** HAProxy's `show stat` CSV from its stats socket ('' when it does not answer). */
export function haproxyShowStat(socket: string, timeoutMs = 2000): Promise<string> {
  return resp({ path: socket }, 'show stat\n', () => false, timeoutMs);
}
