// Storage keys in a real SoftHSM2 token (docs/hsm.md#storage-keys): `fleet pki init --encrypt-at-rest
// --storage-key PKCS11-URI` makes a non-extractable secret in the token and encrypts the folder under a key derived
// there; every command that opens the folder takes the same URI; an unknown or another token key is refused and
// changes nothing. The agent's `storage.key` from PKCS#11 encrypts agent.db the same way.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type * as Pkcs11Js from 'pkcs11js';
import { createAgent } from '../../agent/src/index.js';
import { openSession } from '../../shared/src/pkcs11/token.js';
import { parsePkcs11Uri } from '../../shared/src/pkcs11/uri.js';
import { createTestFleet, testLogger } from '../helpers/fleet.js';
import { fleetCli } from '../helpers/run.js';
import { haveSoftHsm, softHsmToken } from '../helpers/softhsm.js';
import { tmpDir } from '../helpers/tmp.js';

const it = haveSoftHsm() ? test : (test.skip as unknown as typeof test);

/** Every file under `dir` (recursively) whose raw bytes contain `text`. */
function filesHolding(dir: string, text: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return filesHolding(path, text);
    return readFileSync(path).includes(text) ? [path] : [];
  });
}

const snapshot = (dir: string) =>
  readdirSync(dir, { recursive: true })
    .map(String)
    .sort()
    .map((f) => (statSync(join(dir, f)).isFile() ? `${f}:${readFileSync(join(dir, f)).toString('base64')}` : f))
    .join('\n');

/** The token's secret key under `label`: its CKA_SENSITIVE and CKA_EXTRACTABLE, and whether its value reads. */
function secretKeyAttributes(label: string): { sensitive: boolean; extractable: boolean; valueReadable: boolean } {
  const p = createRequire(import.meta.url)('pkcs11js') as typeof Pkcs11Js;
  // The module is loaded once per process (C_Initialize): the session comes from edgeward's own loader.
  const { mod, session } = openSession(parsePkcs11Uri(softHsmToken().uri(label)));
  try {
    mod.C_FindObjectsInit(session, [
      { type: p.CKA_CLASS, value: p.CKO_SECRET_KEY },
      { type: p.CKA_LABEL, value: label },
    ]);
    const [key] = mod.C_FindObjects(session, 2);
    mod.C_FindObjectsFinal(session);
    assert.ok(key, `the token holds a secret key labelled ${label}`);
    const [s, e] = mod.C_GetAttributeValue(session, key!, [{ type: p.CKA_SENSITIVE }, { type: p.CKA_EXTRACTABLE }]);
    let valueReadable = true;
    try {
      mod.C_GetAttributeValue(session, key!, [{ type: p.CKA_VALUE }]);
    } catch {
      valueReadable = false;
    }
    return { sensitive: (s!.value as Buffer)[0] === 1, extractable: (e!.value as Buffer)[0] === 1, valueReadable };
  } finally {
    mod.C_CloseSession(session);
  }
}

it('pki init --encrypt-at-rest --storage-key PKCS11-URI: a non-extractable token key, the folder sealed', async () => {
  const token = softHsmToken();
  const root = tmpDir('edgeward-hsm-storage-');
  const data = join(root, 'fleet');
  const uri = token.uri('storage-fleet');
  const key = ['--storage-key', uri];
  const init = await fleetCli(['pki', 'init', '--data', data, '--encrypt-at-rest', ...key]);
  assert.is(init.code, 0, init.output);
  assert.equal(secretKeyAttributes('storage-fleet'), { sensitive: true, extractable: false, valueReadable: false });

  const add = await fleetCli(['device', 'add', 'gw-hsm-storage-1', '--data', data, ...key, '--out', join(root, 'd')]);
  assert.is(add.code, 0, add.output);
  const check = await fleetCli(['db', 'check', '--data', data, ...key]);
  assert.is(check.code, 0, check.output);
  const list = await fleetCli(['device', 'list', '--data', data, ...key, '--json']);
  assert.is(list.code, 0, list.output);
  assert.match(list.stdout, /gw-hsm-storage-1/);
  assert.equal(filesHolding(data, 'gw-hsm-storage-1'), [], 'no file of the folder names the device in the clear');
  assert.not.match(init.output + add.output + check.output, /pin-/, 'the PIN is never printed');

  // Without the key, with a label the token does not hold, and with another token key: refused, nothing changed.
  const before = snapshot(data);
  const other = await fleetCli(
    ['pki', 'init', '--data', join(root, 'other'), '--encrypt-at-rest'].concat([
      '--storage-key',
      token.uri('storage-other'),
    ]),
  );
  assert.is(other.code, 0, other.output);
  for (const [args, code] of [
    [[], 'AT_REST_KEY_MISSING'],
    [['--storage-key', token.uri('storage-absent')], 'PKCS11_KEY_NOT_FOUND'],
    [['--storage-key', token.uri('storage-other')], 'AT_REST_KEY_WRONG'],
  ] as const) {
    const r = await fleetCli(['device', 'list', '--data', data, ...args]);
    assert.is.not(r.code, 0, r.output);
    assert.match(r.output, code);
  }
  assert.is(snapshot(data), before, 'the refused commands changed nothing in the folder');
});

it("the agent's storage.key from PKCS#11: made on first start, agent.db sealed, the same key next start", async () => {
  const token = softHsmToken();
  const ID = 'gw-hsm-agent-1';
  const fleet = await createTestFleet([ID]);
  try {
    const storage = { storage: { key: { source: 'pkcs11', uri: token.uri('storage-agent') } } };
    const config = fleet.agentConfig(ID, { server: 'mqtts://127.0.0.1:1', ...storage });
    const first = await createAgent({ config, log: testLogger() });
    first.outbox.addSample(Date.now(), { hsmStorageMetric: 42 });
    await first.close();
    assert.equal(secretKeyAttributes('storage-agent'), { sensitive: true, extractable: false, valueReadable: false });
    assert.equal(filesHolding(config.stateDir, 'hsmStorageMetric'), [], 'the outbox is not readable on disk');
    const again = await createAgent({ config, log: testLogger() });
    const kept = again.outbox.samplesAfter(0, 10).map((x) => x.m);
    assert.ok(
      kept.some((m) => m.hsmStorageMetric === 42),
      'the next start opens the same agent.db',
    );
    await again.close();
  } finally {
    await fleet.close();
  }
});

test.run();
