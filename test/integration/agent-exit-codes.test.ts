// iot-agent exit codes as docs/errors.md says: a bad flag is a usage error (exit 2, `usage error: …`), anything
// else that fails exits 1 with `error CODE: …`. Real CLI.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fleetPaths, initPki } from '../../broker/src/fleet/data-dir.js';
import { writeAgentConfig } from '../helpers/agent-process.js';
import { agentCli } from '../helpers/run.js';
import { tmpDir } from '../helpers/tmp.js';

const root = tmpDir('edgeward-exit-');
let caFile = '';

test.before(async () => {
  caFile = fleetPaths((await initPki(join(root, 'fleet'))).root).caCert;
});

/** `iot-agent enroll` with good flags except `overrides` (no server listens: a good run would exit 1). */
function enroll(overrides: Record<string, string>) {
  const flags: Record<string, string> = {
    '--server': 'https://127.0.0.1:1',
    '--token': 'ewt_x',
    '--ca': caFile,
    '--out': join(root, 'out'),
    '--id': 'gw-exit',
    ...overrides,
  };
  return agentCli(['enroll', ...Object.entries(flags).flat()], { timeoutMs: 15_000 });
}

const usage = (r: { code: number | null; stderr: string; output: string }, flag: RegExp) => {
  assert.is(r.code, 2, r.output);
  assert.match(r.stderr, /^usage error: /);
  assert.match(r.stderr, flag);
  assert.not.match(r.stderr, /^error /m);
};

test('enroll --ca: a missing file, a folder or a file that is no certificate is a usage error (exit 2)', async () => {
  const garbage = join(root, 'garbage.crt');
  writeFileSync(garbage, '-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n');
  usage(await enroll({ '--ca': join(root, 'missing.crt') }), /--ca .*missing\.crt: ENOENT/);
  usage(await enroll({ '--ca': root }), /--ca .*: it is a folder/);
  usage(await enroll({ '--ca': garbage }), /--ca .*garbage\.crt is not a PEM certificate/);
});

test('enroll --server: http:// or no URL at all is a usage error (exit 2)', async () => {
  usage(await enroll({ '--server': 'http://127.0.0.1:8443' }), /--server must be an https:\/\/ URL/);
  usage(await enroll({ '--server': 'fleet.example' }), /--server "fleet\.example" is not a URL/);
});

test('enroll with good flags and no server: exit 1 with a code', async () => {
  const r = await enroll({});
  assert.is(r.code, 1, r.output);
  assert.match(r.stderr, /^error AGENT_ENROLL_FAILED: cannot reach the enrolment endpoint/);
});

test('status on a state folder that is a regular file: exit 1 with AGENT_STATE_DIR, not "never ran"', async () => {
  const dir = join(root, 'status');
  const state = join(root, 'state-file');
  writeFileSync(state, 'not a folder\n');
  const file = writeAgentConfig(root, {
    server: 'mqtts://127.0.0.1:1',
    deviceId: 'gw-exit',
    cert: join(dir, 'device.crt'),
    key: join(dir, 'device.key'),
    ca: join(dir, 'ca.crt'),
    stateDir: state,
  });
  const r = await agentCli(['status', '--config', file]);
  assert.is(r.code, 1, r.output);
  assert.match(r.stderr, /^error AGENT_STATE_DIR: the state folder .*state-file is not a folder/);
  assert.not.match(r.stdout, /never ran/);
});

test.run();
