// `fw sign` stopped by a signal while it writes the bundle (Ctrl-C, a kill, a closed terminal) removes its temporary
// file before it dies: no partial bundle is left beside the output, and no bundle either.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeKeyPair } from '../../firmware-tools/src/index.js';
import { generateKeyPair } from '../../shared/src/crypto/index.js';
import { tmpDir } from '../helpers/tmp.js';

const CLI = fileURLToPath(new URL('../../firmware-tools/src/main.ts', import.meta.url));
const dir = tmpDir('edgeward-fw-interrupt-');

test.before(async () => {
  await writeKeyPair(join(dir, 'release.key'), generateKeyPair());
  // Large enough that writing it takes far longer than noticing its temporary file and sending a signal.
  const fd = openSync(join(dir, 'payload.bin'), 'w');
  const block = Buffer.alloc(4 * 1024 * 1024, 0x5a);
  for (let i = 0; i < 128; i++) writeSync(fd, block);
  closeSync(fd);
});

// Only this test's own temporary files: one left by another test must not end this one's wait at once.
const partials = (folder: string, target: string) =>
  readdirSync(folder).filter((n) => n.startsWith(`${target}.partial-`));

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  test(`${signal} while the bundle is written leaves no partial file`, async () => {
    const target = join(dir, `${signal}.bundle`);
    const args = [
      ...['sign', '--key', join(dir, 'release.key'), '--payload', join(dir, 'payload.bin')],
      ...['--hardware', 'hw-1', '--version', '1.0.0', '--sequence', '1', '--out', target],
    ];
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.on('exit', (code, sig) => resolve({ code, signal: sig })),
    );
    let running = true;
    void exited.then(() => (running = false));
    // Waits (bounded by the process itself) for the temporary file, which exists only while the bundle is written.
    while (running && partials(dir, `${signal}.bundle`).length === 0) await new Promise((r) => setTimeout(r, 2));
    assert.ok(running, `fw sign ended before its temporary file was seen: ${stderr}`);
    child.kill(signal);
    const end = await exited;
    assert.is(end.signal, signal, `fw sign dies of ${signal} as usual (exit ${end.code}): ${stderr}`);
    assert.equal(partials(dir, `${signal}.bundle`), [], 'no temporary file left');
    assert.not.ok(existsSync(target), 'no bundle either');
  });
}

test.run();
