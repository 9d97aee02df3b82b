// Public face of the update client: the client, its store, installers and download, and what createAgent
// takes to inject them (the simulator's memory parts).
import type { DownloadFn } from './download.js';
import type { Installer } from './installer.js';
import type { UpdateStore } from './store.js';

export { createUpdateClient, type UpdateClient, type UpdateClientOptions } from './client.js';
export { createDownloader, type DownloadFn, type DownloadRequest, type DownloaderOptions } from './download.js';
export type { ImageMeta, Installer, SlotInfo, SlotWriter } from './installer.js';
export { createAbInstaller, readBootFile, slotPath, type BootFile } from './ab-installer.js';
export { createScriptInstaller, type ScriptInstallerHooks } from './script-installer.js';
export { createMemoryInstaller, type MemoryInstaller } from './memory-installer.js';
export {
  createKvUpdateStore,
  createMemoryUpdateStore,
  parseUpdateRecord,
  type UpdateRecord,
  type UpdateStore,
} from './store.js';
export {
  next as nextUpdateState,
  TRANSITIONS as UPDATE_TRANSITIONS,
  UPDATE_EVENTS,
  type UpdateEvent,
} from './machine.js';

/** What createAgent's `update` option injects; each part defaults from config.update. */
export interface UpdateDeps {
  /** Default: agent.db (the outbox's kv). The simulator: createMemoryUpdateStore(). */
  readonly store?: UpdateStore;
  /** Default: A/B slots in the state folder, or the script hooks. The simulator: createMemoryInstaller(…). */
  readonly installer?: Installer;
  /** Default: createDownloader (HTTPS, mTLS, resumable). Must leave `req.file` holding the whole bundle. */
  readonly download?: DownloadFn;
  /** Default: update.healthCheck.hook. Rejecting means unhealthy (→ RolledBack, UPDATE_HEALTH). */
  readonly healthCheck?: () => Promise<void>;
  /** The trust document's bytes (or a reader, called at each verification). Default: update.trust. */
  readonly trust?: Uint8Array | (() => Uint8Array);
  /** Default: update.hardware. */
  readonly hardware?: string;
}
