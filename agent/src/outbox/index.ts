// Outbox: the public face.
export type { OutboxStore, OutboxStats, OutboxOptions, PendingMessage } from './types.js';
export { openSqliteOutbox, createSqliteOutbox } from './sqlite.js';
export { createMemoryOutbox } from './memory.js';
