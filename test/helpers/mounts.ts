// Small tmpfs mounts for tests of read-only, full or inode-starved disks. Tests run as root, which ignores permission
// bits, so chmod cannot make a folder read-only here; a mount can. Where mounting is not permitted (an unprivileged
// container), mountTmpfs says why, and the test prints a SKIP line instead of running the case.
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const mounted: string[] = [];

/** Unmounts every mount this process made and removes its mount points; safe to call more than once. */
export function unmountAll(): void {
  for (const dir of mounted.splice(0)) {
    try {
      execFileSync('umount', [dir], { stdio: 'pipe' });
    } catch {
      // Still busy (a server or agent of the test holds a file there): detach it now, gone once released.
      try {
        execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
      } catch {
        continue; // leave it rather than remove files from a mount that is still there
      }
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

// Its own mount points, outside tmpDir's folders, whose clean-up would otherwise meet a read-only mount.
process.on('exit', unmountAll);

/**
 * Mounts a new tmpfs with `options` (e.g. "ro,size=1m" or "size=1m,nr_inodes=4") and returns its folder, or the
 * reason mounting is not possible here. A tmpfs's root folder takes one of its nr_inodes.
 */
export function mountTmpfs(options: string): { dir: string } | { skip: string } {
  const dir = mkdtempSync(join(tmpdir(), 'edgeward-mnt-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    const said = String((err as { stderr?: Buffer }).stderr ?? (err as Error).message).trim();
    return { skip: `cannot mount a tmpfs here (${said || 'mount failed'})` };
  }
  mounted.push(dir);
  return { dir };
}

/**
 * Writes into `file` until its file system is full (ENOSPC), the last blocks byte-wise down to nothing; returns
 * the files written, whose removal frees the space again.
 */
export function fillDisk(file: string): string[] {
  const files = [file, `${file}.tail`];
  for (const [path, block] of [
    [file, 64 * 1024],
    [`${file}.tail`, 512],
  ] as const) {
    const fd = openSync(path, 'w');
    try {
      for (;;) writeSync(fd, Buffer.alloc(block));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
    } finally {
      closeSync(fd);
    }
  }
  return files;
}
