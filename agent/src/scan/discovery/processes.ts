// Maps socket inodes to their owning process through /proc/<pid>/fd links ("socket:[inode]"), where permitted.
import type { ScanEnv } from '../env.js';
import { mapLimit } from '../limit.js';

export interface Owner {
  readonly pid: number;
  readonly name: string;
}

const SOCKET_LINK = /^socket:\[(\d+)\]$/;

export async function socketOwners(
  env: Pick<ScanEnv, 'readdir' | 'readlink' | 'readFile'>,
  inodes: ReadonlySet<number>,
  procRoot = '/proc',
): Promise<Map<number, Owner>> {
  const found = new Map<number, Owner>();
  if (inodes.size === 0) return found;
  let pids: number[];
  try {
    pids = (await env.readdir(procRoot)).filter((n) => /^\d+$/.test(n)).map(Number);
  } catch {
    return found;
  }
  await mapLimit(pids, 16, async (pid) => {
    if (found.size === inodes.size) return;
    let fds: string[];
    try {
      fds = await env.readdir(`${procRoot}/${pid}/fd`);
    } catch {
      return; // another user's process, or it exited: the owner stays unknown
    }
    const mine: number[] = [];
    for (const fd of fds) {
      try {
        const m = SOCKET_LINK.exec(await env.readlink(`${procRoot}/${pid}/fd/${fd}`));
        if (m && inodes.has(Number(m[1]))) mine.push(Number(m[1]));
      } catch {
        // fd closed meanwhile
      }
    }
    if (mine.length === 0) return;
    let name = `pid ${pid}`;
    try {
      name =
        (await env.readFile(`${procRoot}/${pid}/comm`))
          .trim()
          .replace(/[^\x20-\x7e]/g, '')
          .slice(0, 64) || name;
    } catch {
      // keep the pid as the name
    }
    for (const inode of mine) if (!found.has(inode)) found.set(inode, { pid, name });
  });
  return found;
}
