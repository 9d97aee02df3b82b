// A simulator worker's nice value reaches every thread of its process, not only the main thread: on Linux each
// thread has its own, and the worker's garbage-collector threads started before the parent set it.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { setProcessPriority } from '../../simulator/src/workers/pool-handle.js';

/** The nice value of each thread of `pid` (field 19 of /proc/PID/task/TID/stat, after the command in parentheses). */
function threadNices(pid: number): number[] {
  return readdirSync(`/proc/${pid}/task`).map((tid) => {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
  });
}

test('every thread of the process gets the nice value', async () => {
  if (!existsSync('/proc/self/task')) {
    console.log('skipped: no /proc (threads have one nice value each only on Linux)');
    return;
  }
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30_000)'], { stdio: 'ignore' });
  try {
    await new Promise((r) => child.once('spawn', r));
    // Node starts its platform threads at once; wait until they are there.
    const pid = child.pid!;
    for (let i = 0; i < 50 && readdirSync(`/proc/${pid}/task`).length < 4; i++)
      await new Promise((r) => setTimeout(r, 20));
    const before = threadNices(pid);
    assert.ok(before.length >= 4, `threads: ${before.length}`);
    setProcessPriority(pid, 7);
    const after = threadNices(pid);
    assert.equal(
      after,
      after.map(() => 7),
      `nice per thread before ${before}, after ${after}`,
    );
  } finally {
    child.kill();
  }
});

test.run();
