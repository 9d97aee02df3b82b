// The fleet store's public face: the interface, both engines, and openStore(url).
export type * from './types.js';
export { openStore, parseStoreUrl, type OpenStoreOptions, type StoreUrl } from './open-store.js';
export { createSqliteStore } from './sqlite-store.js';
export { createPostgresStore, openPostgresStore } from './postgres/store.js';
export { createPgPool, redactUrl, STATEMENT_TIMEOUT_MS } from './postgres/pool.js';
export { STORE_TABLES, SQLITE_ONLY_TABLES, type StoreTable, type TableSpec } from './tables.js';
