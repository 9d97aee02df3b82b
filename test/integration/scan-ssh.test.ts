// The SSH probe against a real OpenSSH sshd on loopback: password authentication on is flagged, keys only is not.
import { test as base } from 'uvu';
import * as assert from 'uvu/assert';
import { testWithPeers } from '../helpers/peers.js';
import { tmpDir } from '../helpers/tmp.js';
import * as S from '../fixtures/scan/services.js';

const test = testWithPeers(['sshd', 'ssh-keygen'], 'apt-get install -y openssh-server');
const services = new S.Services();
base.after(() => services.stopAll());

test('sshd with PasswordAuthentication yes: ssh.password-auth; with no: nothing', async () => {
  const dir = tmpDir('edgeward-ssh-');
  const {
    started: [withPassword, keysOnly],
    report,
  } = await services.scan([S.startSshd(dir, true), S.startSshd(dir, false)], 'it-ssh-01');
  const on = (port: number) => report.findings.filter((f) => f.port === port);
  for (const port of [withPassword.port, keysOnly.port]) {
    const svc = report.services.find((s) => s.port === port)!;
    assert.is(svc.protocol, 'ssh');
    assert.match(svc.product ?? '', /^OpenSSH_/);
  }
  assert.equal(
    on(withPassword.port).map((f) => f.check),
    ['ssh.password-auth'],
  );
  assert.match(on(withPassword.port)[0]!.evidence, /lists publickey,password after a "none" USERAUTH_REQUEST/);
  assert.equal(on(keysOnly.port), []);
});

base.run();
