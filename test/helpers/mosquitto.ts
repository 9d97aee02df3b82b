// Starts a real mosquitto broker on loopback for interoperability tests and benchmarks.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { join } from 'node:path';
import { tmpDir } from './tmp.js';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export async function waitForPort(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const c = connect(port, '127.0.0.1');
      c.once('connect', () => (c.destroy(), resolve(true)));
      c.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`port ${port} did not open`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface Mosquitto {
  readonly port: number;
  readonly process: ChildProcess;
  log(): string;
  stop(): Promise<void>;
}

export interface MosquittoOptions {
  /** PEM file paths of the CA, server certificate and server key. Without them the listener is plaintext. */
  readonly tls?: { cafile: string; certfile: string; keyfile: string; requireCertificate?: boolean };
  readonly allowAnonymous?: boolean;
  readonly extra?: string[];
  readonly port?: number;
}

export async function startMosquitto(opts: MosquittoOptions = {}): Promise<Mosquitto> {
  const dir = tmpDir('edgeward-mosq-');
  const port = opts.port ?? (await freePort());
  const lines = [
    'user root', // mosquitto drops to user "mosquitto", which cannot read root-owned 0600 keys
    'persistence false',
    'log_dest stdout',
    'log_type error',
    'log_type warning',
    'log_type notice',
    `listener ${port} 127.0.0.1`,
    `allow_anonymous ${opts.allowAnonymous ? 'true' : 'false'}`,
  ];
  if (opts.tls) {
    lines.push(
      `cafile ${opts.tls.cafile}`,
      `certfile ${opts.tls.certfile}`,
      `keyfile ${opts.tls.keyfile}`,
      'tls_version tlsv1.2',
    );
    if (opts.tls.requireCertificate !== false) lines.push('require_certificate true', 'use_identity_as_username true');
  }
  lines.push(...(opts.extra ?? []));
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(conf, `${lines.join('\n')}\n`);
  const child = spawn('mosquitto', ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d));
  child.stderr!.on('data', (d: Buffer) => (output += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await Promise.race([
      waitForPort(port),
      exited.then(() => Promise.reject(new Error(`mosquitto exited: ${output}`))),
    ]);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return {
    port,
    process: child,
    log: () => output,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
    },
  };
}
