// The one interface every installer implements: the A/B slots in the state folder (ab-installer.ts), script hooks
// for real devices (script-installer.ts) and the simulator's in-memory slots (memory-installer.ts).

export interface SlotInfo {
  /** The slot name ("a", "b", or what the current hook says). */
  readonly slot: string;
  readonly version: string;
  readonly sequence: number;
  /** True while the slot runs on trial (switched to, not yet committed). */
  readonly trial: boolean;
}

export interface ImageMeta {
  readonly version: string;
  readonly sequence: number;
  /** SHA-256 (hex) of the payload, from the verified manifest. */
  readonly sha256: string;
}

export interface SlotWriter {
  write(chunk: Uint8Array): Promise<void>;
  /** Flushes and closes (fsync where it means something). */
  close(): Promise<void>;
  /** Closes without finishing (the slot stays inactive and unusable). */
  abort(): Promise<void>;
}

export interface Installer {
  /** The running (active) image. */
  current(): Promise<SlotInfo>;
  /** The slot the next image goes to; its previous content is discarded. Starting again is idempotent. */
  openInactive(): Promise<SlotWriter>;
  /** Records the verified image's metadata for the inactive slot. */
  finish(meta: ImageMeta): Promise<void>;
  /** Switches the boot flag to the inactive slot in trial mode. Idempotent once done. */
  activate(meta: ImageMeta): Promise<void>;
  /** Makes the trial slot permanent. */
  commit(): Promise<void>;
  /** Switches back to the other slot (the old image) and ends the trial. */
  rollback(): Promise<void>;
  /**
   * Reboots into the new slot (returns once the reboot is under way). Absent: the agent "reboots" in process by
   * re-making its MQTT connection (the default A/B slots and the simulator).
   */
  readonly reboot?: () => Promise<void>;
}
