// The wire contract shared by agent, fleet server, simulator and firmware tools.
export * from './errors.js';
export * from './topics.js';
export type { Decision } from './decision.js';
export * from './cbor.js';
export * as schema from './schema.js';
export * from './messages/index.js';
export * from './cli/index.js';
export * from './files.js';
export * from './crypto/index.js';
export * from './at-rest/index.js';
export { Pkcs11Error, pkcs11Codes, type Pkcs11Code } from './pkcs11/errors.js';
