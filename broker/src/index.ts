// The fleet server's public face: what the simulator, benchmarks and other parts import.
export {
  createFleetServer,
  DEFAULT_HTTP_PORT,
  DEFAULT_MQTT_PORT,
  type FleetServer,
  type FleetServerOptions,
} from './server.js';
export {
  parseFleetConfig,
  loadFleetConfig,
  rateFor,
  DEFAULT_RATE,
  type FleetConfig,
  type RateLimit,
} from './config.js';
export { FleetError, fleetCodes, type FleetCode } from './errors.js';
export { downloadTokenHash, bundlePath, DEFAULT_DOWNLOAD_PORT } from './http/downloads.js';
export {
  createReleaseStore,
  installedTrustDocuments,
  releaseFile,
  type ReleaseStore,
  type ReleaseView,
  type TrustView,
} from './fleet/releases.js';
export {
  initPki,
  loadCa,
  loadServerTls,
  openFleetDb,
  fleetPaths,
  DEFAULT_SANS,
  type FleetPaths,
} from './fleet/data-dir.js';
export { provisionDevice, renewDevice, DEFAULT_DEVICE_VALIDITY_DAYS, type DeviceFiles } from './fleet/provision.js';
export { createRegistry, type Registry, type DeviceSummary } from './db/registry.js';
export { createCommandStore, type CommandStore, type CommandRow, type CommandStatus } from './db/commands.js';
export { createTokenStore, type TokenStore } from './db/tokens.js';
export { createExposureStore, type ExposureStore } from './db/exposure.js';
export type { StoredEvent } from './fleet/ingest.js';
export type { Db } from './db/open.js';
export { createRolloutStore, type RolloutStore } from './db/rollouts.js';
export {
  ROLLOUT_STATES,
  ROLLOUT_TRANSITIONS,
  type RolloutRequest,
  type RolloutState,
  type RolloutView,
} from './db/rollout-rules.js';
