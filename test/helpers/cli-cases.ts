// Table-driven error cases of the real command-line tools: each case runs a CLI, bundled from the current source
// as it ships, in a child process and must exit with its code, printing one `error CODE: …` (or `usage error: …`)
// line with a documented CODE and no stack trace, promptly (a hang is killed and fails the case).
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as assert from 'uvu/assert';
import { mountTmpfs } from './mounts.js';
import { type RunResult, run } from './run.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** The bundle each CLI name builds to (scripts/build.mjs). */
export const CLI_BUNDLES = { fleet: 'fleet.js', fw: 'fw.cjs', 'iot-agent': 'iot-agent.js' } as const;

/**
 * Bundles the CLIs from the current source into a folder of their own (never a stale dist/): a bundle starts in
 * ~0.2 s where tsx takes ~1 s, which a table of a hundred cases feels. The folder is under the repository's
 * .tmp/, so the native addons left out of the bundles resolve from its node_modules; removed when the process ends.
 */
export function bundleClis(): string {
  const dir = join(root, '.tmp', `cli-cases-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  const b = spawnSync(process.execPath, [join(root, 'scripts/build.mjs'), '--quiet', '--outdir', dir], {
    encoding: 'utf8',
  });
  assert.is(b.status, 0, `build: ${b.stderr}`);
  return dir;
}

export interface CliCase<F> {
  /** What goes wrong, as the test's name. */
  readonly name: string;
  readonly cli: keyof typeof CLI_BUNDLES;
  /** The arguments; `mnt` is the folder of the case's own tmpfs when `mount` is set. */
  readonly args: (f: F, mnt: string) => string[];
  /** 1 for an error, 2 for a usage error, or a documented command-specific code. */
  readonly exit: number;
  /** The code on the error line: USAGE for a usage error. */
  readonly code: string;
  /** The line must also match this: the reason, and what the user can do about it. */
  readonly message?: RegExp;
  /** Mount a tmpfs with these options for the case (e.g. "ro,size=1m"); skipped where mounting is not permitted. */
  readonly mount?: string;
  /** Prepares files just before the run. */
  readonly setup?: (f: F, mnt: string) => void;
  /** Checks the state the run left, e.g. that no partial file remains. */
  readonly after?: (f: F, mnt: string) => void;
  /** Default 20 s: far longer than any case needs; a hang is killed and fails the case. */
  readonly timeoutMs?: number;
}

export type CaseOutcome = { readonly skip: string } | { readonly result: RunResult; readonly mnt: string };

/**
 * Runs one case with the CLIs bundled in `bundles` (mounting its tmpfs first); unmounting is left to unmountAll()
 * once every case has been checked.
 */
export async function runCase<F>(c: CliCase<F>, f: F, bundles: string): Promise<CaseOutcome> {
  let mnt = '';
  if (c.mount !== undefined) {
    const m = mountTmpfs(c.mount);
    if ('skip' in m) return { skip: m.skip };
    mnt = m.dir;
  }
  c.setup?.(f, mnt);
  const cli = join(bundles, CLI_BUNDLES[c.cli]);
  const result = await run(process.execPath, [cli, ...c.args(f, mnt)], { timeoutMs: c.timeoutMs ?? 20_000 });
  return { result, mnt };
}

/** Runs `tasks` with at most `limit` at a time; each result is a promise of its own. */
export function limited<T>(tasks: readonly (() => Promise<T>)[], limit: number): Promise<T>[] {
  let next = 0;
  const slots: Promise<void>[] = [];
  const results = tasks.map(() => {
    let settle!: { resolve: (v: T) => void; reject: (e: unknown) => void };
    const p = new Promise<T>((resolve, reject) => (settle = { resolve, reject }));
    return { p, settle };
  });
  const worker = async () => {
    while (next < tasks.length) {
      const i = next++;
      await tasks[i]!().then(results[i]!.settle.resolve, results[i]!.settle.reject);
    }
  };
  for (let i = 0; i < Math.min(limit, tasks.length); i++) slots.push(worker());
  return results.map((r) => r.p);
}

const STACK_FRAME = /^\s+at .+\(?.+:\d+:\d+\)?$/m;

/**
 * The exit code, and stderr: its first line is `error CODE: message` with a documented CODE (then nothing else) or
 * `usage error: message` (then, at most, the command's help); never a stack trace, on stderr or stdout.
 */
export function assertErrorLine<F>(c: CliCase<F>, r: RunResult, documented: ReadonlySet<string>): void {
  const where = `${c.cli} ${c.name}\n--- stderr\n${r.stderr}--- stdout\n${r.stdout}`;
  assert.ok(r.code !== null, `killed after ${c.timeoutMs ?? 20_000} ms (a hang): ${where}`);
  assert.is(r.code, c.exit, `exit code: ${where}`);
  assert.not.match(r.stderr, STACK_FRAME, `a stack trace: ${where}`);
  assert.not.match(r.stdout, STACK_FRAME, `a stack trace: ${where}`);
  const lines = r.stderr.replace(/\n$/, '').split('\n');
  const first = lines[0]!;
  assert.ok(documented.has(c.code), `${c.code} is listed in docs/errors.md`);
  if (c.code === 'USAGE') {
    assert.match(first, /^usage error: \S/, `a usage error line: ${where}`);
  } else {
    const m = /^error ([A-Z][A-Z0-9_]+): \S/.exec(first);
    assert.ok(m, `an "error CODE: message" line: ${where}`);
    assert.is(m![1], c.code, `the code: ${where}`);
    assert.is(lines.length, 1, `exactly one line: ${where}`);
  }
  if (c.message) assert.match(first, c.message, `the message: ${where}`);
}
