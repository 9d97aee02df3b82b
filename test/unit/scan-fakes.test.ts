// Protocols without a Debian peer here (MongoDB) or whose peer needs setup we avoid (FTP), against in-process
// servers that follow the wire protocol as far as the probes go: vulnerable and hardened variants.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runScan } from '../../agent/src/scan/index.js';
import * as S from '../fixtures/scan/services.js';

const services = new S.Services();
test.after(() => services.stopAll());

test('MongoDB without authorization is mongodb.no-auth; with it, nothing', async () => {
  const open = services.add(await S.startMongoLike(false));
  const closed = services.add(await S.startMongoLike(true));
  const report = await runScan({ ports: `${open.port},${closed.port}`, deviceId: 'fake-mongo-01' });
  for (const p of [open.port, closed.port]) {
    const svc = report.services.find((s) => s.port === p)!;
    assert.is(svc.protocol, 'mongodb');
    assert.is(svc.product, 'MongoDB 6.0.12');
  }
  assert.equal(
    report.findings.map((f) => [f.port, f.check]),
    [[open.port, 'mongodb.no-auth']],
  );
});

test('FTP with anonymous login is ftp.anonymous; without, nothing', async () => {
  const open = services.add(await S.startFtpLike(true));
  const closed = services.add(await S.startFtpLike(false));
  const report = await runScan({ ports: `${open.port},${closed.port}`, deviceId: 'fake-ftp-01' });
  for (const p of [open.port, closed.port]) assert.is(report.services.find((s) => s.port === p)!.protocol, 'ftp');
  assert.equal(
    report.findings.map((f) => [f.port, f.check]),
    [[open.port, 'ftp.anonymous']],
  );
  assert.match(report.findings[0]!.evidence, /230 Login successful/);
});

test.run();
