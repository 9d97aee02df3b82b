// Real interoperability peers (mosquitto, openssl, redis…): find them, or skip loudly — and fail under CI=true.
// A helper, not a test file: it registers no test. testWithPeers() hands back uvu's default suite (or its skip),
// and each test file that uses it runs that suite itself (`test.run()`); test/unit/peers.test.ts tests this file.
import { execFileSync } from 'node:child_process';
import { test as uvuTest } from 'uvu';

const cache = new Map<string, string | undefined>();

/** Absolute path of `command` on PATH (or in /usr/sbin), or undefined. */
export function which(command: string): string | undefined {
  if (cache.has(command)) return cache.get(command);
  let found: string | undefined;
  for (const dir of [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/sbin']) {
    try {
      execFileSync('test', ['-x', `${dir}/${command}`]);
      found = `${dir}/${command}`;
      break;
    } catch {
      // not in this directory
    }
  }
  cache.set(command, found);
  return found;
}

/**
 * True when every command is installed. Otherwise prints a SKIP line with the install command and returns
 * false — or throws under CI=true, where a missing peer must fail the run.
 */
export function havePeers(commands: string[], install: string): boolean {
  const missing = commands.filter((c) => !which(c));
  if (missing.length === 0) return true;
  const line = `SKIP missing peer ${missing.join(', ')}: install with \`${install}\``;
  if (process.env.CI === 'true') throw new Error(`${line} (CI=true makes a missing peer a failure)`);
  console.log(line);
  return false;
}

/**
 * What a file gets when a peer is missing: each test it declares is counted as skipped, its hooks (which would
 * start the peers) never run, and its `test.run()` runs uvu's suite, which reports the skips. uvu's own `test.skip`
 * has neither hooks nor `run`: a file calling `test.before` or `test.run()` on it would crash instead of skipping.
 */
function skippingSuite(): typeof uvuTest {
  const skip = (name?: string) => uvuTest.skip(name);
  const hook = Object.assign(() => {}, { each: () => {} });
  return Object.assign(skip, { skip, only: skip, before: hook, after: hook, run: () => uvuTest.run() }) as never;
}

/** uvu's `test` when the peers exist, otherwise a suite that skips every test (see skippingSuite). */
export function testWithPeers(commands: string[], install: string): typeof uvuTest {
  return havePeers(commands, install) ? uvuTest : skippingSuite();
}
