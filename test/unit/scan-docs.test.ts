// Keeps docs/checks.md, docs/scoring.md and action.yml in step with the catalogue and the scoring code.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CHECKS, CHECK_IDS, CRITICAL_CAP, SCORING_VERSION, SEVERITY_WEIGHT } from '../../agent/src/scan/index.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const read = (p: string) => readFileSync(`${root}${p}`, 'utf8');

/** The ids issue 6 requires, at least. */
const REQUIRED = [
  'net.exposed-all-interfaces',
  'tls.none',
  'tls.weak-protocol',
  'tls.self-signed',
  'tls.expired',
  'tls.weak-key',
  'mqtt.anonymous',
  'mqtt.wildcard-read',
  'redis.no-auth',
  'memcached.open',
  'mongodb.no-auth',
  'postgres.trust',
  'telnet.open',
  'ftp.anonymous',
  'ssh.password-auth',
  'modbus.open',
  'upnp.open',
  'http.no-auth',
  'http.default-credentials',
  'http.cors-wildcard',
  'http.security-headers',
  'http.server-disclosure',
  'http.directory-listing',
  'http.sensitive-file',
  'http.debug-endpoint',
  'http.verbose-errors',
  'http.dangerous-methods',
  'http.no-rate-limit',
  'nodered.no-auth',
];

test('the catalogue has every required check, each with remediation and references', () => {
  for (const id of REQUIRED) assert.ok(CHECKS.has(id), id);
  for (const def of CHECKS.values()) {
    assert.ok(def.remediation.length > 20 && def.evidence.length > 20 && def.description.length > 20, def.id);
    assert.ok(
      def.references.some((r) => r.startsWith('OWASP-')),
      `${def.id} cites OWASP`,
    );
  }
});

test('docs/checks.md documents every check with its severities, and nothing else', () => {
  const doc = read('docs/checks.md');
  const headings = [...doc.matchAll(/^### `([a-z0-9.-]+)`$/gm)].map((m) => m[1]);
  assert.equal([...headings].sort(), [...CHECK_IDS].sort());
  for (const id of CHECK_IDS) {
    const def = CHECKS.get(id)!;
    const row = new RegExp(
      `^\\| \\[\`${id.replace(/\./g, '\\.')}\`\\]\\([^)]*\\) \\| ${def.category} \\| ${def.severity} / ` +
        `(${def.loopbackSeverity}|never raised) \\| ${def.title.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\|$`,
      'm',
    );
    assert.match(doc, row, id);
    assert.ok(doc.includes(def.remediation), `${id} remediation`);
    assert.ok(doc.includes(def.evidence), `${id} evidence`);
  }
});

test('docs/scoring.md states the weights, the cap and the version the code uses', () => {
  const doc = read('docs/scoring.md');
  assert.ok(doc.includes(`SCORING_VERSION = ${SCORING_VERSION}`));
  for (const [severity, weight] of Object.entries(SEVERITY_WEIGHT))
    assert.match(doc, new RegExp(`\\| ${severity} \\| ${weight} \\| ${weight / 2} \\|`), severity);
  assert.ok(doc.includes(`at most **${CRITICAL_CAP}**`));
});

test('action.yml exposes the gate inputs and outputs the docs promise', () => {
  const action = read('action.yml');
  for (const key of [
    'fail-under:',
    'score:',
    'grade:',
    'findings-count:',
    'using: composite',
    'github/codeql-action/upload-sarif',
    'dist/iot-agent.js',
    'node-version: 20',
  ])
    assert.ok(action.includes(key), key);
  const doc = read('docs/ci-gate.md');
  for (const key of ['fail-under', 'score', 'grade', 'findings-count']) assert.ok(doc.includes(`\`${key}\``), key);
});

test.run();
