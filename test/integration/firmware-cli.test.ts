// The `fw` command end to end: key files, trust lifecycle, sign, inspect, verify with exit codes, keys made by
// OpenSSL, and a cross-check that the exact Sig_structure bytes `fw sign` signed verify with OpenSSL and node:crypto.
import { spawnSync } from 'node:child_process';
import { createPublicKey, randomBytes, verify as nodeVerify } from 'node:crypto';
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { UsageError } from '../../shared/src/cli/index.js';
import { EdgewardError } from '../../shared/src/errors.js';
import { fw } from '../../firmware-tools/src/cli/fw.js';
import {
  decodeSignatureSet,
  MANIFEST_CONTENT_TYPE,
  parseTrustDocument,
  sigStructure1,
} from '../../firmware-tools/src/index.js';
import { testWithPeers } from '../helpers/peers.js';
import { tmpDir } from '../helpers/tmp.js';

const CLI = fileURLToPath(new URL('../../firmware-tools/src/main.ts', import.meta.url));
const dir = tmpDir('edgeward-fw-cli-');
const at = (name: string) => join(dir, name);

/** Runs `fw` in this process (fast); exit code 2 for usage errors, 1 for other typed errors, as runCli does. */
async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io = { out: (t: string) => void (out += t), err: (t: string) => void (err += t), now: () => Date.now() };
  try {
    return { code: await fw(args, io), out, err };
  } catch (e) {
    if (e instanceof UsageError) return { code: 2, out, err: err + e.message };
    if (e instanceof EdgewardError) return { code: 1, out, err: `${err}error ${e.code}: ${e.message}` };
    throw e;
  }
}

/** Runs the real bin in a child process (for exit codes and --help, which exits the process). */
function spawnFw(...args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', CLI, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const payload = randomBytes(300_000);
writeFileSync(at('payload.bin'), payload);

test('keygen: PKCS#8 at mode 0600, SPKI beside it, no silent overwrite', async () => {
  const r = await run('keygen', '--out', at('a.key'), '--json');
  assert.is(r.code, 0, r.err);
  const info = JSON.parse(r.out) as { keyId: string; public: string };
  assert.match(info.keyId, /^[0-9a-f]{16}$/);
  assert.is(statSync(at('a.key')).mode & 0o777, 0o600);
  assert.match(readFileSync(at('a.key'), 'utf8'), /^-----BEGIN PRIVATE KEY-----\n/);
  assert.match(readFileSync(info.public, 'utf8'), /^-----BEGIN PUBLIC KEY-----\n/);
  const again = await run('keygen', '--out', at('a.key'));
  assert.is(again.code, 1);
  assert.match(again.err, /FW_KEY_EXISTS/);
  chmodSync(at('a.key'), 0o644);
  assert.is((await run('keygen', '--out', at('a.key'), '--force')).code, 0);
  assert.is(statSync(at('a.key')).mode & 0o777, 0o600, '--force restores mode 0600');
});

test('the bin: --help exits 0 on every command, usage errors exit 2', () => {
  const help = spawnFw('--help');
  assert.is(help.code, 0);
  assert.match(help.out, /Usage: fw <command>/);
  const sub = spawnFw('trust', 'rotate-root', '--help');
  assert.is(sub.code, 0);
  assert.match(sub.out, /--new-root-key/);
  const usage = spawnFw('verify', 'x.bundle');
  assert.is(usage.code, 2);
  assert.match(usage.err, /usage error: --trust is required/);
});

test('trust lifecycle from the command line: init, add, remove, rotate; devices walk the chain', async () => {
  for (const k of ['root1', 'root2', 'rel1', 'rel2', 'newroot'])
    assert.is((await run('keygen', '--out', at(`${k}.key`))).code, 0);
  const ok = async (...args: string[]) => {
    const r = await run(...args);
    assert.is(r.code, 0, `fw ${args.join(' ')}: ${r.err}${r.out}`);
    return r;
  };
  await ok(
    'trust',
    'init',
    '--root-key',
    at('root1.key'),
    '--root-key',
    at('root2.key.pub'),
    '--release-key',
    at('rel1.key.pub'),
    '--out',
    at('t1.cbor'),
  );
  await ok(
    'trust',
    'add-release-key',
    '--trust',
    at('t1.cbor'),
    '--root-key',
    at('root1.key'),
    '--release-key',
    at('rel2.key.pub'),
    '--out',
    at('t2.cbor'),
  );
  await ok(
    'trust',
    'remove-release-key',
    '--trust',
    at('t2.cbor'),
    '--root-key',
    at('root1.key'),
    '--release-key',
    at('rel1.key.pub'),
    '--out',
    at('t3.cbor'),
  );
  await ok(
    'trust',
    'rotate-root',
    '--trust',
    at('t3.cbor'),
    '--root-key',
    at('root1.key'),
    '--new-root-key',
    at('newroot.key'),
    '--out',
    at('t4.cbor'),
  );
  const shown = JSON.parse((await ok('trust', 'show', at('t4.cbor'), '--json')).out) as {
    version: number;
    selfSigned: boolean;
    signatures: unknown[];
  };
  assert.is(shown.version, 4);
  assert.ok(shown.selfSigned);
  assert.is(shown.signatures.length, 2, 'signed by the old root and the new root');

  const refused = await run(
    'trust',
    'add-release-key',
    '--trust',
    at('t1.cbor'),
    '--root-key',
    at('root2.key.pub'),
    '--release-key',
    at('rel2.key.pub'),
    '--out',
    at('tx.cbor'),
  );
  assert.is(refused.code, 1, 'a public key cannot sign');
  assert.match(refused.err, /FW_KEY_INVALID/);
  const exists = await run(
    'trust',
    'add-release-key',
    '--trust',
    at('t1.cbor'),
    '--root-key',
    at('root1.key'),
    '--release-key',
    at('rel2.key.pub'),
    '--out',
    at('t2.cbor'),
  );
  assert.is(exists.code, 2, 'an existing trust version is never overwritten without --force');

  await ok(
    'sign',
    '--key',
    at('rel2.key'),
    '--payload',
    at('payload.bin'),
    '--hardware',
    'gw-x',
    '--version',
    '2.0.0',
    '--sequence',
    '5',
    '--out',
    at('b.bundle'),
  );
  const chain = [
    '--trust',
    at('t1.cbor'),
    '--trust',
    at('t2.cbor'),
    '--trust',
    at('t3.cbor'),
    '--trust',
    at('t4.cbor'),
  ];
  const verdict = async (...extra: string[]) => {
    const r = await run('verify', at('b.bundle'), ...chain, ...extra, '--json');
    return { code: r.code, json: JSON.parse(r.out || '{}') as { valid?: boolean; code?: string } };
  };
  const anchored = await verdict('--root-key', at('root1.key.pub'), '--hardware', 'gw-x', '--installed-sequence', '4');
  assert.is(anchored.code, 0);
  assert.ok(anchored.json.valid);
  assert.is(
    (await verdict('--root-key', at('rel1.key.pub'))).json.code,
    'FW_TRUST_CHAIN',
    'not anchored in the shipped root',
  );
  assert.is((await verdict('--hardware', 'gw-y')).json.code, 'FW_WRONG_HARDWARE');
  assert.is((await verdict('--installed-sequence', '5')).json.code, 'FW_ROLLBACK');
  const skip = await run(
    'verify',
    at('b.bundle'),
    '--trust',
    at('t1.cbor'),
    '--trust',
    at('t2.cbor'),
    '--trust',
    at('t4.cbor'),
    '--json',
  );
  assert.is(skip.code, 1);
  assert.is((JSON.parse(skip.out) as { code: string }).code, 'FW_TRUST_CHAIN', 'a rotation that skips a version');
  const back = await run('verify', at('b.bundle'), ...chain, '--trust', at('t3.cbor'), '--json');
  assert.is((JSON.parse(back.out) as { code: string }).code, 'FW_TRUST_ROLLBACK');
  const old = await run('verify', at('b.bundle'), '--trust', at('t1.cbor'), '--json');
  assert.is((JSON.parse(old.out) as { code: string }).code, 'FW_UNKNOWN_KEY', 'rel2 is not a release key in version 1');

  const inspected = JSON.parse((await ok('inspect', at('b.bundle'), '--json')).out) as {
    manifest: { sequence: number };
    signers: { alg: string }[];
  };
  assert.is(inspected.manifest.sequence, 5);
  assert.is(inspected.signers[0]!.alg, 'EdDSA');

  // Unverified release notes cannot drive the operator's terminal.
  await ok(
    'sign',
    '--key',
    at('rel2.key'),
    '--payload',
    at('payload.bin'),
    '--hardware',
    'gw-x',
    '--version',
    '2.0.1',
    '--sequence',
    '6',
    '--notes',
    'line 1\n\u001b[2Jline 2',
    '--out',
    at('n.bundle'),
  );
  const shownNotes = (await ok('inspect', at('n.bundle'))).out;
  assert.ok(!shownNotes.includes('\u001b'), 'no raw escape character');
  assert.match(shownNotes, /\\x1b\[2Jline 2/);
});

testWithPeers(['openssl'], 'apt-get install openssl')(
  'OpenSSL keys sign and verify; OpenSSL and node:crypto verify what fw signed',
  async () => {
    const openssl = (...args: string[]) => {
      const r = spawnSync('openssl', args, { encoding: 'utf8' });
      assert.is(r.status, 0, `openssl ${args.join(' ')}: ${r.stderr}`);
      return r.stdout;
    };
    openssl('genpkey', '-algorithm', 'ed25519', '-out', at('o-root.pem'));
    openssl('genpkey', '-algorithm', 'ed25519', '-out', at('o-rel.pem'));
    openssl('pkey', '-in', at('o-rel.pem'), '-pubout', '-out', at('o-rel.pub'));
    openssl('pkey', '-in', at('o-root.pem'), '-pubout', '-out', at('o-root.pub'));
    assert.is(
      (
        await run(
          'trust',
          'init',
          '--root-key',
          at('o-root.pem'),
          '--release-key',
          at('o-rel.pub'),
          '--out',
          at('o-trust.cbor'),
        )
      ).code,
      0,
    );
    const signed = await run(
      'sign',
      '--key',
      at('o-rel.pem'),
      '--payload',
      at('payload.bin'),
      '--hardware',
      'gw-o',
      '--version',
      '1.0.0',
      '--sequence',
      '1',
      '--out',
      at('o.bundle'),
    );
    assert.is(signed.code, 0, signed.err);

    const valid = spawnFw(
      'verify',
      at('o.bundle'),
      '--trust',
      at('o-trust.cbor'),
      '--root-key',
      at('o-root.pub'),
      '--json',
    );
    assert.is(valid.code, 0, valid.err + valid.out);
    assert.is((JSON.parse(valid.out) as { valid: boolean }).valid, true);

    // The exact bytes fw signed: Sig_structure over the protected header and manifest as they sit in the file.
    const bundle = readFileSync(at('o.bundle'));
    const set = decodeSignatureSet(bundle.subarray(12, 12 + bundle.readUInt32BE(8)), {
      contentType: MANIFEST_CONTENT_TYPE,
      formatCode: 'FW_BAD_FORMAT',
      maxBytes: 1 << 20,
      what: 'bundle header',
    });
    const trustSet = parseTrustDocument(readFileSync(at('o-trust.cbor'))).set;
    for (const [msg, pub] of [
      [set.signatures[0]!, 'o-rel.pub'],
      [trustSet.signatures[0]!, 'o-root.pub'],
    ] as const) {
      writeFileSync(at('tbs.bin'), sigStructure1(msg.protectedBytes, msg.payload));
      writeFileSync(at('sig.bin'), msg.signature);
      const out = openssl(
        'pkeyutl',
        '-verify',
        '-pubin',
        '-inkey',
        at(pub),
        '-rawin',
        '-in',
        at('tbs.bin'),
        '-sigfile',
        at('sig.bin'),
      );
      assert.match(out, /Signature Verified Successfully/);
      assert.ok(nodeVerify(null, readFileSync(at('tbs.bin')), createPublicKey(readFileSync(at(pub))), msg.signature));
    }

    const tampered = Buffer.from(bundle);
    tampered[tampered.length - 1]! ^= 1;
    writeFileSync(at('o-bad.bundle'), tampered);
    const invalid = spawnFw('verify', at('o-bad.bundle'), '--trust', at('o-trust.cbor'), '--json');
    assert.is(invalid.code, 1);
    assert.is((JSON.parse(invalid.out) as { code: string }).code, 'FW_PAYLOAD_DIGEST');
  },
);

test.run();
