// Keeps docs/operator-api.md in step with the role table the API enforces (broker/src/api/roles.ts).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ROLES, SCOPES } from '../../broker/src/api/roles.js';

const doc = readFileSync(fileURLToPath(new URL('../../docs/operator-api.md', import.meta.url)), 'utf8');

/** The rows `| \`key\` | rest |` of the markdown table whose header starts with `header`. */
function table(header: string): Map<string, string> {
  const start = doc.indexOf(`| ${header} |`);
  assert.ok(start >= 0, `docs/operator-api.md has no table headed "${header}"`);
  const rows = new Map<string, string>();
  for (const line of doc.slice(start).split('\n').slice(2)) {
    const m = /^\| `([^`]+)` \| (.*) \|$/.exec(line);
    if (!m) break;
    rows.set(m[1]!, m[2]!);
  }
  return rows;
}

test('the roles table lists exactly the scopes each role allows', () => {
  const rows = table('role');
  assert.equal([...rows.keys()], Object.keys(ROLES));
  for (const [role, scopes] of Object.entries(ROLES)) {
    assert.equal(rows.get(role), scopes.map((s) => `\`${s}\``).join(' '), role);
  }
});

test('the scopes table describes every scope as the code does', () => {
  const rows = table('scope');
  assert.equal([...rows.keys()], Object.keys(SCOPES));
  for (const [scope, text] of Object.entries(SCOPES)) assert.is(rows.get(scope), text, scope);
});

test.run();
