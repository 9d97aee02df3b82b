// Replay protection for signed commands: the public face.
export type { ReplayStore, ReplayEntry, ReplayStats, ReplayOptions, Admission } from './types.js';
export { DEFAULT_MAX_NONCES } from './types.js';
export { createMemoryReplayStore } from './memory.js';
export { createSqliteReplayStore } from './sqlite.js';
