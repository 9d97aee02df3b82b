// A device's credential files (device.key 0600, device.crt, ca.crt; with sealing, seal.key 0600 and
// backend-seal.pub) written around a registration that happens
// elsewhere (the fleet server, or the database through --data): every file is made, and its room taken, before
// the device is registered, and only filled in and moved into place after. A full or read-only disk therefore
// fails before the registration, never leaving a registered device without its credentials nor credentials
// of a device that was not registered.
import {
  chmodSync,
  closeSync,
  existsSync,
  ftruncateSync,
  openSync,
  renameSync,
  rmSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import {
  BACKEND_KEY_FILE,
  EdgewardError,
  ensurePrivateDir,
  ioError,
  SEAL_KEY_FILE,
} from '../../../shared/src/index.js';

/** Room taken for a certificate before it is known; a fleet certificate in PEM is about 800 bytes. */
const RESERVE_BYTES = 16 * 1024;

export interface DeviceFiles {
  readonly key: string | undefined;
  readonly cert: string;
  readonly ca: string;
  /** The device's X25519 sealing key and the backend's sealing public key, when a sealing key was made here. */
  readonly sealKey?: string;
  readonly backendKey?: string;
}

export interface StagedDeviceFiles {
  readonly files: DeviceFiles;
  /** Fills in the certificates (and the backend's sealing key) and moves every file into place. */
  commit(certPem: string, caPem: string, backendSealPem?: string): DeviceFiles;
  /** Removes what was staged (after a refusal). */
  abort(): void;
}

interface Staged {
  readonly path: string;
  readonly tmp: string;
  readonly mode: number;
  fd: number | undefined;
}

function writeAll(fd: number, bytes: Buffer): void {
  // write() may write less than asked on a nearly full disk; the next call reports ENOSPC.
  for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done, bytes.length - done, done);
}

/**
 * Stages DIR/device.key (when `keyPem` is given: a key made here), DIR/device.crt and DIR/ca.crt, and with
 * `sealKeyPem` DIR/seal.key and DIR/backend-seal.pub. Without `overwrite`, an existing device.key, device.crt or
 * seal.key is refused (FILE_EXISTS); ca.crt and backend-seal.pub are always replaced.
 */
export function stageDeviceFiles(
  dir: string,
  opts: { keyPem?: string; sealKeyPem?: string; overwrite: boolean },
): StagedDeviceFiles {
  const files: DeviceFiles = {
    key: opts.keyPem === undefined ? undefined : join(dir, 'device.key'),
    cert: join(dir, 'device.crt'),
    ca: join(dir, 'ca.crt'),
    ...(opts.sealKeyPem === undefined
      ? {}
      : { sealKey: join(dir, SEAL_KEY_FILE), backendKey: join(dir, BACKEND_KEY_FILE) }),
  };
  if (!opts.overwrite) {
    for (const path of [files.key, files.cert, files.sealKey]) {
      if (path && existsSync(path)) {
        throw new EdgewardError('FILE_EXISTS', `${path} already exists; pass --force to overwrite it`);
      }
    }
  }
  ensurePrivateDir(dir);
  const staged: Staged[] = [];
  const stage = (path: string, mode: number, content: Buffer) => {
    const s: Staged = { path, tmp: `${path}.tmp-${process.pid}`, mode, fd: undefined };
    try {
      s.fd = openSync(s.tmp, 'wx', mode);
      // Staged once open: abort() closes and removes it whatever fails next.
      staged.push(s);
      writeAll(s.fd, content);
    } catch (err) {
      throw ioError(err, 'write', path);
    }
    return s;
  };
  const abort = () => {
    for (const s of staged) {
      if (s.fd !== undefined) closeSync(s.fd);
      s.fd = undefined;
      try {
        unlinkSync(s.tmp);
      } catch {
        // already moved into place, or never made
      }
    }
  };

  let key: Staged | undefined;
  let sealKey: Staged | undefined;
  let backendKey: Staged | undefined;
  let cert: Staged;
  let ca: Staged;
  try {
    if (opts.keyPem !== undefined) key = stage(files.key!, 0o600, Buffer.from(opts.keyPem));
    if (opts.sealKeyPem !== undefined) {
      sealKey = stage(files.sealKey!, 0o600, Buffer.from(opts.sealKeyPem));
      backendKey = stage(files.backendKey!, 0o644, Buffer.alloc(RESERVE_BYTES, 0x20));
    }
    cert = stage(files.cert, 0o644, Buffer.alloc(RESERVE_BYTES, 0x20));
    ca = stage(files.ca, 0o644, Buffer.alloc(RESERVE_BYTES, 0x20));
  } catch (err) {
    abort();
    throw err;
  }

  return {
    files,
    abort,
    commit(certPem, caPem, backendSealPem) {
      const all = [key, sealKey, backendKey, cert, ca];
      const created = all.filter((s): s is Staged => !!s && !existsSync(s.path)).map((s) => s.path);
      const fill = (s: Staged, text: string) => {
        const bytes = Buffer.from(text);
        // Over the room taken: the blocks are already the file's, so a full disk cannot refuse them now.
        writeAll(s.fd!, bytes);
        ftruncateSync(s.fd!, bytes.length);
      };
      const moved: Staged[] = [];
      try {
        fill(cert, certPem);
        fill(ca, caPem);
        if (backendKey) {
          if (backendSealPem === undefined)
            throw new EdgewardError('FLEET_PKI_INVALID', 'the fleet did not answer with its sealing key');
          fill(backendKey, backendSealPem);
        }
        for (const s of all) {
          if (!s) continue;
          closeSync(s.fd!);
          s.fd = undefined;
          chmodSync(s.tmp, s.mode);
        }
        for (const s of all) {
          if (!s) continue;
          renameSync(s.tmp, s.path);
          moved.push(s);
        }
      } catch (err) {
        abort();
        for (const s of moved) if (created.includes(s.path)) rmSync(s.path, { force: true });
        throw ioError(err, 'write', (moved.length ? ca : cert).path);
      }
      return files;
    },
  };
}
