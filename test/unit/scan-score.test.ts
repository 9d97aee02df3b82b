// Scoring v1 as table tests: the worked examples of docs/scoring.md, caps, repeats and order independence.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { gradeFor, SCORING_VERSION, scoreFindings, type ScoredFinding } from '../../agent/src/scan/index.js';

const f = (check: string, severity: ScoredFinding['severity'], category: ScoredFinding['category']): ScoredFinding => ({
  check,
  severity,
  category,
});

const rows: {
  name: string;
  findings: ScoredFinding[];
  score: number;
  grade: string;
  categories?: Record<string, number | null>;
}[] = [
  {
    name: 'no findings',
    findings: [],
    score: 100,
    grade: 'A',
    categories: { transport: 100, authentication: 100, exposure: 100, configuration: 100, ai: null },
  },
  {
    name: 'example 1: two low header findings',
    findings: [f('http.security-headers', 'low', 'configuration'), f('http.server-disclosure', 'low', 'configuration')],
    score: 96,
    grade: 'A',
    categories: { transport: 100, authentication: 100, exposure: 100, configuration: 96, ai: null },
  },
  {
    name: 'example 2: typical gateway (SSH passwords exposed, anonymous MQTT on loopback)',
    findings: [
      f('ssh.password-auth', 'medium', 'authentication'),
      f('mqtt.anonymous', 'high', 'authentication'),
      f('mqtt.wildcard-read', 'high', 'authentication'),
    ],
    score: 62,
    grade: 'D',
    categories: { transport: 100, authentication: 62, exposure: 100, configuration: 100, ai: null },
  },
  {
    name: 'example 3: Redis without password on all interfaces (critical cap)',
    findings: [
      f('redis.no-auth', 'critical', 'authentication'),
      f('net.exposed-all-interfaces', 'medium', 'exposure'),
      f('tls.none', 'high', 'transport'),
    ],
    score: 48,
    grade: 'F',
    categories: { transport: 84, authentication: 59, exposure: 94, configuration: 100, ai: null },
  },
  {
    name: 'example 4: one critical alone still fails',
    findings: [f('telnet.open', 'critical', 'transport')],
    score: 59,
    grade: 'F',
  },
  {
    name: 'example 5: the same check on five ports counts 1 + ½ + ½',
    findings: ['80', '81', '82', '83', '84'].map(() => f('http.security-headers', 'low', 'configuration')),
    score: 96,
    grade: 'A',
  },
  {
    name: 'repeats of a high check',
    findings: [1, 2, 3, 4].map(() => f('http.no-auth', 'high', 'authentication')),
    score: 68,
    grade: 'D',
  },
  {
    name: 'info findings cost nothing',
    findings: [f('tls.self-signed', 'info', 'transport'), f('http.security-headers', 'info', 'configuration')],
    score: 100,
    grade: 'A',
  },
  {
    name: 'floor at zero',
    findings: ['a', 'b', 'c', 'd', 'e'].map((x) => f(`test.${x}`, 'critical', 'authentication')),
    score: 0,
    grade: 'F',
  },
  {
    name: 'B band',
    findings: [
      f('tls.weak-protocol', 'medium', 'transport'),
      f('tls.expired', 'medium', 'transport'),
      f('x.low', 'low', 'configuration'),
    ],
    score: 86,
    grade: 'B',
  },
  {
    name: 'C band',
    findings: [
      f('http.sensitive-file', 'high', 'exposure'),
      f('tls.weak-key', 'medium', 'transport'),
      f('x.low', 'low', 'configuration'),
    ],
    score: 76,
    grade: 'C',
  },
];

for (const row of rows) {
  test(`score: ${row.name}`, () => {
    const s = scoreFindings(row.findings);
    assert.is(s.score, row.score);
    assert.is(s.grade, row.grade);
    assert.is(s.scoringVersion, SCORING_VERSION);
    if (row.categories) assert.equal(s.categories, row.categories);
  });
}

test('the same findings in any order give the same score', () => {
  const findings = [
    f('http.no-auth', 'high', 'authentication'),
    f('http.no-auth', 'medium', 'authentication'),
    f('http.no-auth', 'high', 'authentication'),
    f('tls.none', 'high', 'transport'),
    f('upnp.open', 'low', 'exposure'),
    f('redis.no-auth', 'critical', 'authentication'),
  ];
  const expected = scoreFindings(findings);
  let seed = 7;
  const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  for (let i = 0; i < 50; i++) {
    const shuffled = [...findings].sort(() => rnd() - 0.5);
    assert.equal(scoreFindings(shuffled), expected);
  }
});

test('grade bands', () => {
  const cases: [number, string][] = [
    [100, 'A'],
    [90, 'A'],
    [89, 'B'],
    [80, 'B'],
    [79, 'C'],
    [70, 'C'],
    [69, 'D'],
    [60, 'D'],
    [59, 'F'],
    [0, 'F'],
  ];
  for (const [score, grade] of cases) assert.is(gradeFor(score), grade, String(score));
});

test('AI sub-score appears only when an AI finding exists', () => {
  assert.is(scoreFindings([f('ai.prompt-endpoint', 'medium', 'ai')]).categories.ai, 94);
});

test.run();
