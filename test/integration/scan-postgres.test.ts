// The PostgreSQL probe against real servers: a trust rule is postgres.trust; scram-sha-256 raises nothing.
import { test as base } from 'uvu';
import * as assert from 'uvu/assert';
import { testWithPeers } from '../helpers/peers.js';
import { tmpDir } from '../helpers/tmp.js';
import * as S from '../fixtures/scan/services.js';

const test = testWithPeers(
  ['initdb', 'postgres'],
  'apt-get install -y postgresql (and put /usr/lib/postgresql/15/bin on PATH)',
);
const services = new S.Services();
base.after(() => services.stopAll());

test('trust admits the postgres user without a password; scram-sha-256 does not', async () => {
  const dir = tmpDir('edgeward-pg-');
  const {
    started: [trust, scram],
    report,
  } = await services.scan([S.startPostgres(dir, 'trust'), S.startPostgres(dir, 'scram-sha-256')], 'it-postgres-01');
  for (const port of [trust.port, scram.port])
    assert.is(report.services.find((s) => s.port === port)?.protocol, 'postgresql');
  const on = (port: number) => report.findings.filter((f) => f.port === port).map((f) => f.check);
  assert.equal(on(trust.port), ['postgres.trust']);
  assert.match(
    report.findings.find((f) => f.port === trust.port)!.evidence,
    /AuthenticationOk to a StartupMessage for user postgres/,
  );
  assert.equal(on(scram.port), []);
});

base.run();
