// The public test vectors kept in test/vectors/ (source, version and licence in its README): one loader, which
// checks each file against the SHA-256 recorded there, so a vector cannot change or go missing unnoticed.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const DIR = fileURLToPath(new URL('../vectors/', import.meta.url));

/** Reads and parses `test/vectors/NAME`; throws when the file's SHA-256 differs from the README's. */
export function loadVectors<T>(name: string): T {
  const bytes = readFileSync(`${DIR}${name}`);
  const readme = readFileSync(`${DIR}README.md`, 'utf8');
  const row = readme.split('\n').find((line) => line.startsWith(`| \`${name}\` |`));
  const expected = row && /SHA-256 `([0-9a-f]{64})`/.exec(row)?.[1];
  if (!expected) throw new Error(`test/vectors/README.md has no SHA-256 for ${name}`);
  const actual = createHash('sha256').update(bytes).digest('hex');
  if (actual !== expected)
    throw new Error(`test/vectors/${name} has SHA-256 ${actual}, the README records ${expected}`);
  return JSON.parse(bytes.toString('utf8')) as T;
}
