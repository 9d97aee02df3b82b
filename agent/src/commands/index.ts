// The agent's command side: keyring, executor, hooks config. The public face.
export { createCommandExecutor, type CommandExecutor, type CommandExecutorOptions } from './executor.js';
export { authorizeCommand, type AuthorizeContext, type CommandDecision } from './authorize.js';
export { capabilitiesOf, runCommand, type CommandActions } from './handlers.js';
export {
  createKeyring,
  operatorConfigSchema,
  resolveOperatorPem,
  type Keyring,
  type OperatorKey,
  type OperatorConfig,
} from './keyring.js';
export { createDeviceStateStore, type DeviceStateStore } from './device-state.js';
export {
  hooksConfigSchema,
  hookSchema,
  expandHook,
  HOOK_PLACEHOLDERS,
  type HooksConfig,
  type HookName,
} from './hook-config.js';
