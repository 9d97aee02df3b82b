// The FTP probe against a real vsftpd on loopback: anonymous login on is ftp.anonymous (and FTP is plaintext
// control), anonymous off is no anonymous finding. The in-process FTP fake covers what vsftpd cannot be made to do.
import { test as base } from 'uvu';
import * as assert from 'uvu/assert';
import { testWithPeers } from '../helpers/peers.js';
import { tmpDir } from '../helpers/tmp.js';
import * as S from '../fixtures/scan/services.js';

const test = testWithPeers(
  ['vsftpd'],
  'apt-get install -y vsftpd (and run the tests as root: vsftpd drops privileges itself)',
);
const services = new S.Services();
base.after(() => services.stopAll());

test('vsftpd with anonymous_enable=YES: ftp.anonymous; with NO: no anonymous finding', async () => {
  const dir = tmpDir('edgeward-ftp-');
  const {
    started: [open, closed],
    report,
  } = await services.scan([S.startVsftpd(dir, true), S.startVsftpd(dir, false)], 'it-ftp-01');
  const checks = (port: number) => report.findings.filter((f) => f.port === port).map((f) => f.check);
  for (const port of [open.port, closed.port]) {
    const svc = report.services.find((s) => s.port === port)!;
    assert.is(svc.protocol, 'ftp', `port ${port}`);
    assert.match(svc.product ?? '', /vsFTPd/i);
  }
  assert.ok(checks(open.port).includes('ftp.anonymous'), checks(open.port).join(', '));
  const finding = report.findings.find((f) => f.port === open.port && f.check === 'ftp.anonymous')!;
  assert.match(finding.evidence, /^Reply "230/);
  assert.not.ok(checks(closed.port).includes('ftp.anonymous'), checks(closed.port).join(', '));
});

base.run();
