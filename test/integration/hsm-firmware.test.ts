// `fw` with release and root keys inside a real SoftHSM2 token: keygen writes only the public key, trust init and
// sign take PKCS#11 URIs, and the real `fw verify` (a child process, unchanged) accepts the bundle.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fw } from '../../firmware-tools/src/cli/fw.js';
import { UsageError } from '../../shared/src/cli/index.js';
import { parsePublicKeyPem } from '../../shared/src/crypto/index.js';
import { EdgewardError } from '../../shared/src/errors.js';
import { haveSoftHsm, softHsmToken } from '../helpers/softhsm.js';
import { tmpDir } from '../helpers/tmp.js';

const it = haveSoftHsm() ? test : (test.skip as unknown as typeof test);
const CLI = fileURLToPath(new URL('../../firmware-tools/src/main.ts', import.meta.url));
const dir = tmpDir('edgeward-hsm-fw-');
const at = (name: string) => join(dir, name);

async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  const io = { out: (t: string) => void (out += t), err: () => undefined, now: () => Date.now() };
  try {
    return { code: await fw(args, io), out, err: '' };
  } catch (e) {
    if (e instanceof UsageError) return { code: 2, out, err: e.message };
    if (e instanceof EdgewardError) return { code: 1, out, err: `error ${e.code}: ${e.message}` };
    throw e;
  }
}

it('keygen in the token, trust init and sign by URI; the real fw verify accepts the bundle', async () => {
  const token = softHsmToken();
  const ok = async (...args: string[]) => {
    const r = await run(...args);
    assert.is(r.code, 0, `fw ${args.join(' ')}: ${r.err}${r.out}`);
    return r;
  };
  const made = JSON.parse((await ok('keygen', '--out', token.uri('rel-1'), '--pub', at('rel.pub'), '--json')).out);
  await ok('keygen', '--out', token.uri('root-1'), '--pub', at('root.pub'));
  assert.match(readFileSync(at('rel.pub'), 'utf8'), /^-----BEGIN PUBLIC KEY-----\n/);
  assert.is(parsePublicKeyPem(readFileSync(at('rel.pub')), 'rel.pub').length, 32);
  assert.match(made.keyId, /^[0-9a-f]{16}$/);
  assert.not.ok(existsSync(at('rel')), 'no private key file is written anywhere');

  const again = await run('keygen', '--out', token.uri('rel-1'), '--pub', at('other.pub'));
  assert.is(again.code, 1);
  assert.match(again.err, /PKCS11_KEY_EXISTS/);
  const noPub = await run('keygen', '--out', token.uri('rel-2'));
  assert.is(noPub.code, 2, 'a URI needs --pub');

  await ok(
    'trust',
    'init',
    '--root-key',
    token.uri('root-1'),
    '--release-key',
    at('rel.pub'),
    '--out',
    at('trust.cbor'),
  );
  writeFileSync(at('payload.bin'), randomBytes(2_000_000));
  await ok(
    'sign',
    '--key',
    token.uri('rel-1'),
    '--payload',
    at('payload.bin'),
    '--hardware',
    'gw-hsm',
    '--version',
    '1.0.0',
    '--sequence',
    '1',
    '--out',
    at('fw.bundle'),
  );
  const verify = spawnSync(
    process.execPath,
    ['--import', 'tsx', CLI, 'verify', at('fw.bundle'), '--trust', at('trust.cbor'), '--root-key', at('root.pub')],
    { encoding: 'utf8', timeout: 60_000 },
  );
  assert.is(verify.status, 0, verify.stderr + verify.stdout);
  const tampered = readFileSync(at('fw.bundle'));
  tampered[tampered.length - 1] = (tampered[tampered.length - 1] ?? 0) ^ 1;
  writeFileSync(at('bad.bundle'), tampered);
  const bad = await run('verify', at('bad.bundle'), '--trust', at('trust.cbor'), '--root-key', at('root.pub'));
  assert.is(bad.code, 1, 'the check still bites');
});

it('a P-256 key in the token is refused as a release key; a missing key names itself', async () => {
  const token = softHsmToken();
  const { generatePkcs11Key } = await import('../../shared/src/pkcs11/index.js');
  generatePkcs11Key(token.uri('ec-key'), 'p256').close();
  const args = ['--payload', at('payload.bin'), '--hardware', 'gw', '--version', '1.0.0', '--sequence', '1'];
  const ec = await run('sign', '--key', token.uri('ec-key'), ...args, '--out', at('x.bundle'));
  assert.is(ec.code, 1);
  assert.match(ec.err, /FW_KEY_INVALID.*p256 key; release keys are Ed25519/);
  const missing = await run('sign', '--key', token.uri('nope'), ...args, '--out', at('x.bundle'));
  assert.match(missing.err, /PKCS11_KEY_NOT_FOUND/);
});

test.run();
