// The fleet CA inside a real SoftHSM2 token: `fleet pki init --ca-key PKCS11-URI` keeps only the URI on disk, and the
// server and device certificates it issues verify with `openssl verify` against the CA certificate.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createRegistry } from '../../broker/src/db/registry.js';
import { fleetPaths, initPki, loadCa, openFleetDb } from '../../broker/src/fleet/data-dir.js';
import { provisionDevice } from '../../broker/src/fleet/provision.js';
import { TokenCaKey } from '../../broker/src/pki/token-ca-key.js';
import type { EdgewardError } from '../../shared/src/errors.js';
import { which } from '../helpers/peers.js';
import { haveSoftHsm, softHsmToken } from '../helpers/softhsm.js';
import { tmpDir } from '../helpers/tmp.js';

const it = haveSoftHsm() && which('openssl') ? test : (test.skip as unknown as typeof test);
const FLEET = fileURLToPath(new URL('../../broker/src/main.ts', import.meta.url));

it('fleet pki init --ca-key makes the CA in the token; device certificates pass openssl verify', async () => {
  const token = softHsmToken();
  const data = join(tmpDir('edgeward-hsm-ca-'), 'fleet');
  const init = spawnSync(
    process.execPath,
    ['--import', 'tsx', FLEET, 'pki', 'init', '--data', data, '--ca-key', token.uri('fleet-ca')],
    { encoding: 'utf8', timeout: 120_000 },
  );
  assert.is(init.status, 0, init.stderr + init.stdout);
  assert.match(init.stdout, /CA key +in the token/);
  const p = fleetPaths(data);
  const stored = readFileSync(p.caKey, 'utf8');
  assert.match(stored, /^pkcs11:token=/);
  assert.not.match(stored, /PRIVATE KEY/);

  const ca = await loadCa(data);
  assert.instance(ca.key, TokenCaKey);
  const db = openFleetDb(data);
  try {
    const files = await provisionDevice(createRegistry(db), ca, 'gw-hsm-001', join(data, 'gw-hsm-001'));
    const verify = (cert: string) =>
      execFileSync('openssl', ['verify', '-CAfile', p.caCert, cert], { encoding: 'utf8' }).trim();
    assert.is(verify(files.cert), `${files.cert}: OK`);
    assert.is(verify(p.serverCert), `${p.serverCert}: OK`);
    const text = execFileSync('openssl', ['x509', '-in', files.cert, '-noout', '-subject', '-issuer'], {
      encoding: 'utf8',
    });
    assert.match(text, /subject=CN = gw-hsm-001/);
  } finally {
    db.close();
  }
});

it('a pin-value URI is never written into the data folder; a missing key is a typed error', async () => {
  const token = softHsmToken();
  const withPin = `${token.uri('ca-2').replace(/\?.*$/, '')}?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-value=x`;
  try {
    await initPki(join(tmpDir('edgeward-hsm-ca-'), 'fleet'), { caKeyUri: withPin });
    assert.unreachable('accepted');
  } catch (err) {
    assert.is((err as EdgewardError).code, 'FLEET_PKI_INVALID');
  }
});

test.run();
