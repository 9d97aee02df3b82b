// The PKCS#11 module and token behind a URI: load the module once per process, find exactly one token, log in
// with the PIN the URI names. pkcs11js is loaded only here, and only when a URI is actually used.
import { createRequire } from 'node:module';
import { fstatSync, closeSync, openSync, readSync, constants } from 'node:fs';
import type * as Pkcs11Js from 'pkcs11js';
import { Pkcs11Error } from './errors.js';
import type { Pkcs11Uri } from './uri.js';

export type Pkcs11Lib = typeof Pkcs11Js;
export type Pkcs11Module = Pkcs11Js.PKCS11;

/** Environment variable naming the module when a URI has no module-path. */
export const MODULE_ENV = 'EDGEWARD_PKCS11_MODULE';
const MAX_PIN_BYTES = 256;
const CKR_USER_ALREADY_LOGGED_IN = 0x100;

let lib: Pkcs11Lib | undefined;
const modules = new Map<string, Pkcs11Module>();

export function pkcs11Lib(): Pkcs11Lib {
  if (lib === undefined) {
    try {
      lib = createRequire(import.meta.url)('pkcs11js') as Pkcs11Lib;
    } catch (err) {
      throw new Pkcs11Error('PKCS11_MODULE', 'the pkcs11js binding is not installed: run `npm install pkcs11js`', {
        cause: err,
      });
    }
  }
  return lib;
}

/** Loads and initialises a module once per process (C_Initialize may only run once per module). */
export function loadModule(uri: Pkcs11Uri, env: NodeJS.ProcessEnv = process.env): Pkcs11Module {
  const path = uri.modulePath ?? env[MODULE_ENV];
  if (path === undefined || path === '') {
    throw new Pkcs11Error(
      'PKCS11_MODULE',
      `the URI names no module: add ?module-path=/usr/lib/softhsm/libsofthsm2.so (or set ${MODULE_ENV})`,
    );
  }
  if (uri.moduleName !== undefined && uri.modulePath === undefined)
    throw new Pkcs11Error('PKCS11_MODULE', 'module-name is not supported: give module-path instead');
  const known = modules.get(path);
  if (known !== undefined) return known;
  const { PKCS11 } = pkcs11Lib();
  const mod = new PKCS11();
  try {
    mod.load(path);
    mod.C_Initialize();
  } catch (err) {
    throw new Pkcs11Error('PKCS11_MODULE', `cannot load the PKCS#11 module ${path}: ${(err as Error).message}`, {
      cause: err,
      details: { modulePath: path },
    });
  }
  modules.set(path, mod);
  return mod;
}

const trimmed = (s: string) => s.replace(/[ \0]+$/, '');

/** The one slot whose token matches the URI's token attributes. */
export function findSlot(mod: Pkcs11Module, uri: Pkcs11Uri): Buffer {
  const matches = mod.C_GetSlotList(true).filter((slot) => {
    if (uri.slotId !== undefined && slot.readUInt32LE(0) !== uri.slotId) return false;
    const info = mod.C_GetTokenInfo(slot);
    if (uri.token !== undefined && trimmed(info.label) !== uri.token) return false;
    if (uri.manufacturer !== undefined && trimmed(info.manufacturerID) !== uri.manufacturer) return false;
    if (uri.serial !== undefined && trimmed(info.serialNumber) !== uri.serial) return false;
    return uri.model === undefined || trimmed(info.model) === uri.model;
  });
  const [slot] = matches;
  if (slot === undefined || matches.length > 1) {
    const what = uri.token === undefined ? 'the URI' : `token=${uri.token}`;
    throw new Pkcs11Error(
      'PKCS11_TOKEN_NOT_FOUND',
      matches.length === 0
        ? `no initialised token matches ${what}`
        : `${matches.length} tokens match ${what}: add token=, serial= or slot-id= to pick one`,
    );
  }
  return slot;
}

/** The PIN the URI names. A pin-source file must be a regular file that no other user can read. */
export function readPin(uri: Pkcs11Uri): string {
  if (uri.pinValue !== undefined) return uri.pinValue;
  const path = uri.pinSource;
  if (path === undefined)
    throw new Pkcs11Error('PKCS11_PIN', 'the URI names no PIN: add ?pin-source=file:/path/to/pin (mode 0600)');
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (err) {
    throw new Pkcs11Error('PKCS11_PIN', `cannot read the PIN file ${path}: ${(err as NodeJS.ErrnoException).code}`, {
      cause: err,
    });
  }
  try {
    const info = fstatSync(fd);
    if (!info.isFile()) throw new Pkcs11Error('PKCS11_PIN', `the PIN file ${path} is not a regular file`);
    if ((info.mode & 0o077) !== 0) {
      const mode = (info.mode & 0o777).toString(8);
      throw new Pkcs11Error('PKCS11_PIN', `the PIN file ${path} is mode ${mode}: run \`chmod 600 ${path}\``);
    }
    const buf = Buffer.alloc(MAX_PIN_BYTES + 1);
    const n = readSync(fd, buf, 0, buf.length, 0);
    if (n > MAX_PIN_BYTES) throw new Pkcs11Error('PKCS11_PIN', `the PIN file ${path} is too long for a PIN`);
    const pin = buf
      .subarray(0, n)
      .toString('utf8')
      .replace(/\r?\n$/, '');
    if (pin === '') throw new Pkcs11Error('PKCS11_PIN', `the PIN file ${path} is empty`);
    return pin;
  } finally {
    closeSync(fd);
  }
}

/** Opens a read-write session on the URI's token, logged in as the user. */
export function openSession(uri: Pkcs11Uri, env?: NodeJS.ProcessEnv): { mod: Pkcs11Module; session: Buffer } {
  const mod = loadModule(uri, env);
  const { CKF_SERIAL_SESSION, CKF_RW_SESSION, CKU_USER } = pkcs11Lib();
  const slot = findSlot(mod, uri);
  const pin = readPin(uri);
  const session = call('C_OpenSession', () => mod.C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION));
  try {
    mod.C_Login(session, CKU_USER, pin);
  } catch (err) {
    if ((err as { code?: number }).code !== CKR_USER_ALREADY_LOGGED_IN) {
      mod.C_CloseSession(session);
      throw new Pkcs11Error('PKCS11_PIN', `the token refused the PIN: ${(err as Error).message}`, { cause: err });
    }
  }
  return { mod, session };
}

// Return values that mean "this key or token cannot do that" rather than a fault (PKCS#11 v3.0 §5.1).
const UNSUPPORTED = new Set([0x70, 0x71, 0x60, 0x63, 0x68, 0x130, 0x140, 0x12, 0x13]);

/** Runs one PKCS#11 call, turning its failure into a typed error naming the function and return value. */
export function call<T>(fn: string, run: () => T): T {
  try {
    return run();
  } catch (err) {
    if (err instanceof Pkcs11Error) throw err;
    const code = (err as { code?: number }).code;
    throw new Pkcs11Error(
      code !== undefined && UNSUPPORTED.has(code) ? 'PKCS11_UNSUPPORTED' : 'PKCS11_FAILED',
      `${fn} failed: ${(err as Error).message}`,
      { cause: err },
    );
  }
}
