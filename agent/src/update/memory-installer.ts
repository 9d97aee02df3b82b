// The simulator's installer: A/B slots in memory that keep only sizes and hashes, never payload bytes, so
// thousands of simulated gateways can take an update in one process.
import { createHash } from 'node:crypto';
import { AgentError } from '../errors.js';
import type { ImageMeta, Installer, SlotInfo } from './installer.js';

type Slot = 'a' | 'b';

export interface MemoryInstaller extends Installer {
  /** The slots as they stand (size and hash of what was written, metadata once finished). */
  state(): { active: Slot; trial: boolean; slots: Partial<Record<Slot, ImageMeta & { size: number }>> };
}

export function createMemoryInstaller(initial: { version: string; sequence: number }): MemoryInstaller {
  let active: Slot = 'a';
  let trial = false;
  const slots: Partial<Record<Slot, ImageMeta & { size: number }>> = { a: { ...initial, sha256: '', size: 0 } };
  let written: { hash: ReturnType<typeof createHash>; size: number } | undefined;
  let writtenDigest: { sha256: string; size: number } | undefined;
  const inactive = (): Slot => (active === 'a' ? 'b' : 'a');
  return {
    state: () => ({ active, trial, slots: { ...slots } }),
    async current(): Promise<SlotInfo> {
      const m = slots[active]!;
      return { slot: active, version: m.version, sequence: m.sequence, trial };
    },
    async openInactive() {
      if (trial) throw new AgentError('UPDATE_INSTALL', 'a trial is under way; commit or roll back first');
      delete slots[inactive()];
      const w = { hash: createHash('sha256'), size: 0 };
      written = w;
      writtenDigest = undefined;
      return {
        write: async (chunk) => void (w.hash.update(chunk), (w.size += chunk.length)),
        close: async () => void (writtenDigest = { sha256: w.hash.digest('hex'), size: w.size }),
        abort: async () => void (written = undefined),
      };
    },
    async finish(meta) {
      if (!written || writtenDigest?.sha256 !== meta.sha256)
        throw new AgentError('UPDATE_INSTALL', 'the inactive slot does not hold the verified image');
      slots[inactive()] = { ...meta, size: writtenDigest.size };
    },
    async activate(meta) {
      if (trial && slots[active]?.sha256 === meta.sha256) return;
      if (slots[inactive()]?.sha256 !== meta.sha256)
        throw new AgentError('UPDATE_INSTALL', 'the inactive slot does not hold the image to activate');
      active = inactive();
      trial = true;
    },
    async commit() {
      trial = false;
    },
    async rollback() {
      if (!trial) return;
      active = inactive();
      trial = false;
    },
  };
}
