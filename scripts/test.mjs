#!/usr/bin/env node
// Runs every test/**/*.test.ts file in its own Node process (uvu inside, TypeScript through tsx),
// a few at a time, and prints a summary. Usage: node scripts/test.mjs [filter …]
// Env: TEST_CONCURRENCY (default 2), TEST_TIMEOUT_S (default 300 per file).
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const filters = process.argv.slice(2);
const concurrency = Number(process.env.TEST_CONCURRENCY ?? 2);
const timeoutMs = Number(process.env.TEST_TIMEOUT_S ?? 300) * 1000;

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return name === 'fixtures' || name === 'node_modules' ? [] : walk(p);
    return name.endsWith('.test.ts') ? [p] : [];
  });
}

const files = walk(join(root, 'test'))
  .map((p) => relative(root, p))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();

if (files.length === 0) {
  console.error(`no test files match ${filters.join(' ')}`);
  process.exit(1);
}

// The CLIs' bundles, built from this source for this run: tests start them (test/helpers/run.ts cliArgs) in a
// fifth of the time the TypeScript source takes through tsx, and so test what users run.
const build = spawnSync(process.execPath, ['scripts/build.mjs', '--quiet'], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) {
  console.error('scripts/build.mjs failed: the CLI bundles the tests start could not be built');
  process.exit(1);
}
process.env.EDGEWARD_TEST_BUNDLES = join(root, 'dist');

const results = [];
const started = Date.now();

function runOne(file) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const child = spawn(process.execPath, ['--import', 'tsx', file], {
      cwd: root,
      env: { ...process.env, FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => {
      out += `\n[test runner] ${file} timed out after ${timeoutMs / 1000}s\n`;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {}
    }, timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      // Kill anything the file left behind (brokers, peers) so the next file starts clean.
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {}
      const total = /Total:\s+(\d+)/.exec(out)?.[1];
      const passed = /Passed:\s+(\d+)/.exec(out)?.[1];
      const skipped = /Skipped:\s+(\d+)/.exec(out)?.[1];
      const ok = code === 0 && total !== undefined && total === passed;
      const r = {
        file,
        ok,
        code,
        signal,
        total: Number(total ?? 0),
        passed: Number(passed ?? 0),
        skipped: Number(skipped ?? 0),
        ms: Date.now() - t0,
        out,
      };
      results.push(r);
      const skipNotes = [...out.matchAll(/^SKIP .*$/gm)].map((m) => m[0]);
      const status = ok ? 'ok  ' : 'FAIL';
      console.log(
        `${status} ${file}  ${r.passed}/${r.total}${r.skipped ? ` (${r.skipped} skipped)` : ''}  ` +
          `${(r.ms / 1000).toFixed(1)}s`,
      );
      for (const s of skipNotes) console.log(`     ${s}`);
      if (!ok || process.env.TEST_VERBOSE) console.log(out.replace(/^/gm, '     | '));
      resolve(r);
    });
  });
}

const queue = [...files];
await Promise.all(
  Array.from({ length: Math.min(concurrency, queue.length) }, async () => {
    while (queue.length) await runOne(queue.shift());
  }),
);

const failed = results.filter((r) => !r.ok);
const tests = results.reduce((n, r) => n + r.total, 0);
const passed = results.reduce((n, r) => n + r.passed, 0);
console.log(
  `\n${files.length} files, ${passed}/${tests} tests passed, ${failed.length} files failed, ` +
    `${((Date.now() - started) / 1000).toFixed(1)}s`,
);
if (failed.length) {
  console.log(`failed: ${failed.map((r) => r.file).join(', ')}`);
  process.exit(1);
}
