// Platform: the public face.
export type { Platform, Metrics } from './types.js';
export { createLinuxPlatform, AGENT_VERSION } from './linux.js';
export { createFakePlatform, type FakePlatform } from './fake.js';
