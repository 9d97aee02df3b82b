#!/usr/bin/env node
// Lines are at most 120 characters (docs/style.md); the formatter wraps code but not long strings or comments,
// so this check covers what it cannot. Usage: node scripts/check-lines.mjs [--max 120]
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const max = Number(process.argv.includes('--max') ? process.argv[process.argv.indexOf('--max') + 1] : 120);
const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '*.ts', '*.mjs', '*.js'], {
  encoding: 'utf8',
})
  .split('\n')
  .filter((f) => f && !f.startsWith('test/fixtures/') && !f.startsWith('test/vectors/'));
const long = [];
for (const file of files) {
  let text;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    continue; // listed by git but deleted in the work tree
  }
  text.split('\n').forEach((line, i) => {
    if (line.length > max) long.push(`${file}:${i + 1}: ${line.length} characters`);
  });
}
if (long.length) {
  console.error(`${long.length} line(s) longer than ${max} characters:\n${long.join('\n')}`);
  process.exit(1);
}
