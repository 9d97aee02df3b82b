// The script-hook installer runs real executables (no shell between us and them): the payload on stdin of the
// write hook, metadata as JSON to activate, current's JSON parsed with care, failures and hangs as UPDATE_INSTALL.
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createScriptInstaller } from '../../agent/src/update/index.js';
import { tmpDir } from '../helpers/tmp.js';

const dir = tmpDir();
const script = (name: string, body: string) => {
  const p = join(dir, name);
  writeFileSync(p, `#!/bin/sh\n${body}\n`);
  chmodSync(p, 0o755);
  return [p];
};

const hooks = {
  current: script('current', `cat ${dir}/current.json`),
  write: script('write', `cat > ${dir}/partition`),
  activate: script('activate', `cat > ${dir}/activated.json`),
  commit: script('commit', `touch ${dir}/committed`),
  rollback: script('rollback', `touch ${dir}/rolledback`),
  reboot: script('reboot', 'exit 0'),
};

test('write streams the payload to the hook; activate gets the metadata; current is parsed', async () => {
  writeFileSync(join(dir, 'current.json'), '{"version":"1.2.3","sequence":7,"slot":"mmcblk0p2"}');
  const inst = createScriptInstaller(hooks, { timeoutMs: 10_000 });
  assert.equal(await inst.current(), { slot: 'mmcblk0p2', version: '1.2.3', sequence: 7, trial: false });
  const payload = randomBytes(300_000);
  const w = await inst.openInactive();
  for (let i = 0; i < payload.length; i += 10_000) await w.write(payload.subarray(i, i + 10_000));
  await w.close();
  assert.ok(Buffer.compare(readFileSync(join(dir, 'partition')), payload) === 0);
  await inst.activate({ version: '2.0.0', sequence: 8, sha256: 'ab'.repeat(32) });
  assert.equal(JSON.parse(readFileSync(join(dir, 'activated.json'), 'utf8')), {
    version: '2.0.0',
    sequence: 8,
    sha256: 'ab'.repeat(32),
  });
});

test('a failing, hanging or lying hook is UPDATE_INSTALL', async () => {
  const failing = createScriptInstaller(
    { ...hooks, commit: script('fail', 'echo "flag write failed" >&2; exit 3'), rollback: script('hang', 'sleep 30') },
    { timeoutMs: 500 },
  );
  const e1 = await failing.commit().catch((e) => e);
  assert.is(e1.code, 'UPDATE_INSTALL');
  assert.match(e1.message, /exited with 3: flag write failed/);
  const e2 = await failing.rollback().catch((e) => e);
  assert.is(e2.code, 'UPDATE_INSTALL');
  assert.match(e2.message, /killed/);
  for (const out of ['not json', '{"version":"1 2","sequence":1}', '{"version":"1.0.0","sequence":"7"}']) {
    writeFileSync(join(dir, 'current.json'), out);
    const e = await failing.current().catch((err) => err);
    assert.is(e.code, 'UPDATE_INSTALL', out);
  }
});

test.run();
