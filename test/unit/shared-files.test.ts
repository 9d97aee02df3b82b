// Hostile paths: FIFOs, folders, huge files and /proc are refused with FILE_IO at once, never a hang; a failed
// write leaves nothing behind; CLI errors always carry a code; negative numbers reach the option's own check.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { errorLine } from '../../shared/src/cli/run.js';
import {
  EdgewardError,
  ensurePrivateDir,
  parseCli,
  parsePort,
  readRegularFile,
  UsageError,
  writeFileSafe,
  writeSecret,
} from '../../shared/src/index.js';
import { tmpDir } from '../helpers/tmp.js';

function fileError(fn: () => unknown): { code: string; reason: unknown; message: string } {
  try {
    fn();
  } catch (err) {
    const e = err as EdgewardError;
    return { code: e.code, reason: e.details?.reason, message: e.message };
  }
  throw new Error('expected an error');
}

test('readRegularFile refuses a FIFO at once instead of blocking for ever', () => {
  const dir = tmpDir();
  const fifo = join(dir, 'config.fifo');
  execFileSync('mkfifo', [fifo]);
  const t0 = Date.now();
  const e = fileError(() => readRegularFile(fifo));
  assert.is(e.code, 'FILE_IO');
  assert.is(e.reason, 'not-regular');
  assert.match(e.message, /a FIFO/);
  assert.ok(Date.now() - t0 < 1000);
});

test('readRegularFile refuses a folder, a missing file and a file over the cap, naming each', () => {
  const dir = tmpDir();
  assert.match(fileError(() => readRegularFile(dir)).message, /it is a folder/);
  const missing = fileError(() => readRegularFile(join(dir, 'nope')));
  assert.is(missing.code, 'FILE_IO');
  assert.match(missing.message, /ENOENT \(no such file or folder\)/);
  const big = join(dir, 'big');
  writeFileSync(big, Buffer.alloc(2048));
  assert.is(fileError(() => readRegularFile(big, { maxBytes: 1024 })).reason, 'too-large');
  assert.is(readRegularFile(big, { maxBytes: 2048 }).length, 2048);
});

test('folders on /proc or /sys are refused without calling mkdir (which never returns under /proc)', () => {
  for (const dir of ['/proc/edgeward-test/state', '/sys/edgeward-test']) {
    const e = fileError(() => ensurePrivateDir(dir));
    assert.is(e.code, 'FILE_IO');
    assert.is(e.reason, 'special-fs');
  }
  assert.is(fileError(() => writeFileSafe('/proc/edgeward-test/out.key', 'x')).reason, 'special-fs');
});

test('a failed write leaves neither the target nor its temp file, and says why with FILE_IO', () => {
  const dir = tmpDir();
  const target = join(dir, 'out');
  mkdirSync(join(target, 'inside'), { recursive: true }); // a non-empty folder where the file should go
  const e = fileError(() => writeFileSafe(target, 'data', { overwrite: true }));
  assert.is(e.code, 'FILE_IO');
  assert.equal(readdirSync(dir), ['out']);
  const blocked = join(dir, 'file');
  writeFileSync(blocked, '');
  assert.is(fileError(() => writeSecret(join(blocked, 'key.pem'), 'secret')).code, 'FILE_IO');
  writeSecret(join(dir, 'ok.key'), 'secret');
  assert.is(statSync(join(dir, 'ok.key')).mode & 0o777, 0o600);
});

test('every CLI error line carries a code: EdgewardError, file system error, anything else', () => {
  assert.is(errorLine(new EdgewardError('FILE_EXISTS', 'x exists')), 'error FILE_EXISTS: x exists');
  const io = Object.assign(new Error('EROFS: read-only file system'), {
    code: 'EROFS',
    syscall: 'open',
    path: '/ro/x',
  });
  assert.is(errorLine(io), 'error FILE_IO: open /ro/x: EROFS (read-only file system)');
  assert.match(errorLine(new TypeError('oops')), /^error INTERNAL: oops \(a bug/);
});

test('a negative number after a string option reaches the option check instead of "ambiguous"', () => {
  const { values } = parseCli(['--mqtt-port', '-1', 'x'], { 'mqtt-port': { type: 'string' } }, 'help');
  assert.is(values['mqtt-port'], '-1');
  assert.throws(
    () => parsePort(values['mqtt-port'], '--mqtt-port', 8883),
    (e: Error) => e instanceof UsageError && /from 1 to 65535, got "-1"/.test(e.message),
  );
  for (const bad of ['65536', '0', 'abc', '1e3', ''])
    assert.throws(
      () => parsePort(bad, '--p', 1),
      (e: Error) => e instanceof UsageError,
    );
  assert.is(parsePort('0', '--p', 1, true), 0);
  assert.is(parsePort(undefined, '--p', 8883), 8883);
  assert.is(parsePort('65535', '--p', 1), 65535);
});

test.run();
