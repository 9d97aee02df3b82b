// Outbox: the public face.
export {
  DROP_REASONS,
  type DropReason,
  type StoreFailure,
  type OutboxStore,
  type OutboxStats,
  type OutboxOptions,
  type PendingMessage,
} from './types.js';
export { openSqliteOutbox, createSqliteOutbox, dropKey } from './sqlite.js';
export { createMemoryOutbox } from './memory.js';
