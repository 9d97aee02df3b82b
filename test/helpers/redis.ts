// Starts a real redis-server on a free loopback port in a temporary folder, for cluster tests: stop, start again
// on the same port (with its append-only file when asked), and a client to look inside.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { freePort, waitForPort } from './mosquitto.js';
import { tmpDir } from './tmp.js';

export interface RedisServer {
  readonly port: number;
  readonly url: string;
  /** Stops the server (SIGTERM; SIGKILL after 5 s). */
  stop(): Promise<void>;
  /** Starts it again on the same port and folder. */
  start(): Promise<void>;
  restart(): Promise<void>;
  /** Freezes the server (SIGSTOP): connections stay open, nothing is answered until `resume`. */
  pause(): void;
  resume(): void;
  log(): string;
}

export interface RedisServerOptions {
  /** Keep an append-only file, so data outlives a restart (default: nothing persisted). */
  readonly appendOnly?: boolean;
}

export async function startRedis(opts: RedisServerOptions = {}): Promise<RedisServer> {
  const dir = tmpDir('edgeward-redis-');
  const port = await freePort();
  let child: ChildProcess | undefined;
  let output = '';
  const start = async () => {
    const c = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        dir,
        '--save',
        '',
        '--appendonly',
        opts.appendOnly ? 'yes' : 'no',
        '--protected-mode',
        'no',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child = c;
    c.stdout!.on('data', (d: Buffer) => (output += d));
    c.stderr!.on('data', (d: Buffer) => (output += d));
    const exited = once(c, 'exit');
    await Promise.race([
      waitForPort(port),
      exited.then(() => {
        throw new Error(`redis-server exited at start:\n${output}`);
      }),
    ]);
  };
  const stop = async () => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null) return;
    const exited = once(c, 'exit');
    c.kill('SIGTERM');
    const timer = setTimeout(() => c.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };
  await start();
  process.once('exit', () => child?.kill('SIGKILL'));
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    stop,
    start,
    async restart() {
      await stop();
      await start();
    },
    pause: () => void child?.kill('SIGSTOP'),
    resume: () => void child?.kill('SIGCONT'),
    log: () => output,
  };
}
