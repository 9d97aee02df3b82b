// The default installer: two slots in the state folder (firmware/slot-a, firmware/slot-b) and firmware/boot.json
// {active, trial, slots}, always replaced atomically (temp file, fsync, rename, fsync folder). The new image goes
// to the inactive slot and becomes active in trial mode; commit ends the trial, rollback switches back.
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, statSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { AgentError } from '../errors.js';
import type { ImageMeta, Installer, SlotInfo, SlotWriter } from './installer.js';

export type SlotName = 'a' | 'b';

export interface BootFile {
  readonly active: SlotName;
  readonly trial: boolean;
  readonly slots: Partial<Record<SlotName, ImageMeta>>;
}

export interface AbInstallerOptions {
  /** The state folder; slots live in its firmware/ subfolder. */
  readonly stateDir: string;
  /** What a folder without boot.json runs (slot a). */
  readonly initialVersion: string;
  readonly initialSequence: number;
}

const other = (s: SlotName): SlotName => (s === 'a' ? 'b' : 'a');

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Writes `text` to `file` atomically and durably. */
export function writeFileAtomic(file: string, dir: string, text: string): void {
  const tmp = `${file}.tmp`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  fsyncDir(dir);
}

function parseBoot(text: string): BootFile {
  const b = JSON.parse(text) as BootFile;
  if ((b.active !== 'a' && b.active !== 'b') || typeof b.trial !== 'boolean' || typeof b.slots !== 'object')
    throw new Error('boot.json does not hold {active, trial, slots}');
  return b;
}

export function slotPath(stateDir: string, slot: SlotName): string {
  return join(stateDir, 'firmware', `slot-${slot}`);
}

/** Reads firmware/boot.json (for tests and status); undefined when the folder has no slots yet. */
export function readBootFile(stateDir: string): BootFile | undefined {
  try {
    return parseBoot(readFileSync(join(stateDir, 'firmware', 'boot.json'), 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new AgentError('UPDATE_INSTALL', `firmware/boot.json is unreadable: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

export function createAbInstaller(opts: AbInstallerOptions): Installer & { boot(): BootFile } {
  const dir = join(opts.stateDir, 'firmware');
  const file = join(dir, 'boot.json');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const initial: BootFile = {
    active: 'a',
    trial: false,
    slots: { a: { version: opts.initialVersion, sequence: opts.initialSequence, sha256: '' } },
  };
  let boot: BootFile = readBootFile(opts.stateDir) ?? initial;
  const write = (b: BootFile) => {
    writeFileAtomic(file, dir, `${JSON.stringify(b)}\n`);
    boot = b;
  };
  const inactive = () => other(boot.active);
  const guard = async <T>(what: string, fn: () => T | Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof AgentError) throw err;
      throw new AgentError('UPDATE_INSTALL', `${what}: ${(err as Error).message}`, { cause: err });
    }
  };

  return {
    boot: () => boot,
    async current(): Promise<SlotInfo> {
      const meta = boot.slots[boot.active] ?? { version: opts.initialVersion, sequence: opts.initialSequence };
      return { slot: boot.active, version: meta.version, sequence: meta.sequence, trial: boot.trial };
    },
    openInactive: () =>
      guard('opening the inactive slot', async (): Promise<SlotWriter> => {
        if (boot.trial) throw new AgentError('UPDATE_INSTALL', 'a trial is under way; commit or roll back first');
        const slot = inactive();
        // The slot's old metadata goes first: a half-written slot is never described as an image.
        if (boot.slots[slot]) {
          const { [slot]: _dropped, ...rest } = boot.slots;
          write({ ...boot, slots: rest });
        }
        const fh = await open(slotPath(opts.stateDir, slot), 'w', 0o600);
        return {
          write: async (chunk) => void (await fh.write(chunk)),
          close: async () => (await fh.sync(), await fh.close()),
          abort: () => fh.close(),
        };
      }),
    finish: (meta) =>
      guard('finishing the inactive slot', async () => {
        const slot = inactive();
        // The slot holds exactly the bytes the verifier hashed (it wrote them as it hashed them) and was synced
        // before the verdict was recorded. Reading it back here would read the page cache, not the medium, so it
        // would prove nothing and cost a second pass over the image; an empty or missing slot is still refused.
        const size = statSync(slotPath(opts.stateDir, slot), { throwIfNoEntry: false })?.size ?? 0;
        if (size === 0) throw new AgentError('UPDATE_INSTALL', `slot ${slot} holds no image`);
        write({ ...boot, slots: { ...boot.slots, [slot]: meta } });
      }),
    activate: (meta) =>
      guard('switching the boot flag', () => {
        const cur = boot.slots[boot.active];
        if (boot.trial && cur?.sha256 === meta.sha256) return; // already switched
        const slot = inactive();
        if (boot.slots[slot]?.sha256 !== meta.sha256)
          throw new AgentError('UPDATE_INSTALL', `slot ${slot} does not hold the image to activate`);
        write({ ...boot, active: slot, trial: true });
      }),
    commit: () => guard('committing', () => void (boot.trial && write({ ...boot, trial: false }))),
    rollback: () =>
      guard('rolling back', () => {
        if (!boot.trial) return;
        write({ ...boot, active: other(boot.active), trial: false });
      }),
  };
}
