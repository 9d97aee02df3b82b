// An operator credential inside a real SoftHSM2 token: its proof of possession passes the server's proof verifier
// (and cannot be replayed), and a command it signs opens and verifies as a device checks it.
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createProof, createProofVerifier } from '../../broker/src/api/proof.js';
import { operatorSigner } from '../../broker/src/api/token-signer.js';
import { openDb } from '../../broker/src/db/open.js';
import { createOperatorStore } from '../../broker/src/db/operators.js';
import { createSqliteStore } from '../../broker/src/store/index.js';
import {
  newCommandBody,
  openCommand,
  signCommandWith,
  verifyCommandSignature,
} from '../../shared/src/commands/index.js';
import { keyId, keyIdBytes, publicKeyToPem } from '../../shared/src/crypto/index.js';
import { generatePkcs11Key } from '../../shared/src/pkcs11/index.js';
import { haveSoftHsm, softHsmToken } from '../helpers/softhsm.js';
import { tmpDir } from '../helpers/tmp.js';

const it = haveSoftHsm() ? test : (test.skip as unknown as typeof test);

it('a proof signed in the token gets through the verifier once; a command it signs verifies', async () => {
  const token = softHsmToken();
  const uri = token.uri('operator-alice');
  const made = generatePkcs11Key(uri, 'ed25519');
  made.close();
  const db = openDb(join(tmpDir('edgeward-hsm-op-'), 'fleet.db'));
  const operators = createOperatorStore(db);
  const kid = keyId(made.publicKey);
  operators.add({ name: 'alice', kid, publicKey: publicKeyToPem(made.publicKey), role: 'admin', createdBy: 'test' });
  const verifyProof = createProofVerifier({ db, operators: createSqliteStore(db).operators, audience: 'fleet-hsm' });

  const signer = operatorSigner(uri, 'the credential');
  assert.equal(signer.publicKey, made.publicKey);
  const assertion = await createProof({ privateKeyPem: signer, kid, audience: 'fleet-hsm' });
  const first = await verifyProof(assertion);
  assert.ok(first.ok, JSON.stringify(first));
  assert.is((await verifyProof(assertion)).ok, false, 'a proof is good once');
  const other = await createProof({ privateKeyPem: signer, kid, audience: 'another-fleet' });
  assert.equal((await verifyProof(other)).ok, false);

  const body = newCommandBody({ deviceId: 'gw-001', command: 'reboot', params: {}, counter: 1, ttlMs: 60_000 });
  const envelope = signCommandWith(body, signer.publicKey, (m) => signer.sign(m));
  const opened = openCommand(envelope);
  assert.ok(opened.ok);
  if (opened.ok) {
    assert.is(Buffer.from(opened.kid).toString('hex'), Buffer.from(keyIdBytes(made.publicKey)).toString('hex'));
    assert.ok(verifyCommandSignature(opened, made.publicKey));
  }
  db.close();
});

test.run();
