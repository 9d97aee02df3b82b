// Platform: the public face.
export type { Platform, Metrics } from './types.js';
export { createLinuxPlatform, AGENT_VERSION, type LinuxPlatformOptions } from './linux.js';
export { createFakePlatform, type FakePlatform, type FakePlatformOptions } from './fake.js';
export { createHookRunner, type HookRunner } from './hooks.js';
