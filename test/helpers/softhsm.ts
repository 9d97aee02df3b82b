// A throwaway SoftHSM2 token for tests: one token per test process, in a temp folder, with a PIN file at mode 0600.
// One, because SoftHSM2 reads its token folder when the module initialises (once per process): a token made
// later is not seen. Tests keep apart by object label. Skips, or fails under CI=true, when
// softhsm2 is not installed.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { havePeers } from './peers.js';
import { tmpDir } from './tmp.js';

export const SOFTHSM_MODULE = '/usr/lib/softhsm/libsofthsm2.so';
const INSTALL = 'apt-get install -y softhsm2';

/** True when softhsm2-util and its module exist; otherwise SKIP (or throw under CI=true) like every peer. */
export function haveSoftHsm(): boolean {
  if (!havePeers(['softhsm2-util'], INSTALL)) return false;
  if (existsSync(SOFTHSM_MODULE)) return true;
  const line = `SKIP missing peer ${SOFTHSM_MODULE}: install with \`${INSTALL}\``;
  if (process.env.CI === 'true') throw new Error(`${line} (CI=true makes a missing peer a failure)`);
  console.log(line);
  return false;
}

let token: SoftHsmToken | undefined;

export interface SoftHsmToken {
  readonly label: string;
  readonly pin: string;
  readonly pinFile: string;
  /** A key URI in this token: `pkcs11:token=…;object=NAME?module-path=…&pin-source=file:…`. */
  uri(object: string): string;
}

/**
 * This process's token, made on first use in a temp folder; SOFTHSM2_CONF points at it, so child processes
 * (the CLIs under test) see the same token.
 */
export function softHsmToken(): SoftHsmToken {
  if (token !== undefined) return token;
  const root = tmpDir('edgeward-softhsm-');
  mkdirSync(join(root, 'tokens'), { mode: 0o700 });
  const conf = join(root, 'softhsm2.conf');
  writeFileSync(
    conf,
    `directories.tokendir = ${join(root, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`,
  );
  process.env.SOFTHSM2_CONF = conf;
  const label = 'edgeward-test';
  const pin = `pin-${process.pid}`;
  execFileSync('softhsm2-util', ['--init-token', '--free', '--label', label, '--pin', pin, '--so-pin', `so-${pin}`], {
    env: process.env,
    stdio: 'pipe',
  });
  const pinFile = join(root, `${label}.pin`);
  writeFileSync(pinFile, `${pin}\n`, { mode: 0o600 });
  token = {
    label,
    pin,
    pinFile,
    uri: (object) =>
      `pkcs11:token=${label};object=${encodeURIComponent(object)}` +
      `?module-path=${SOFTHSM_MODULE}&pin-source=file:${pinFile}`,
  };
  return token;
}
