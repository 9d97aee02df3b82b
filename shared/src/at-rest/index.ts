// Encryption at rest: the storage key, files sealed under it, and their error codes.
export * from './errors.js';
export * from './storage-key.js';
export * from './sealed-file.js';
export * from './keyed-db.js';
