// The agent's public face: what the simulator and tests import.
export { createAgent, type Agent, type AgentOptions, type AgentStats } from './agent.js';
export { parseAgentConfig, loadAgentConfig, agentConfigSchema, type AgentConfig } from './config.js';
export { AgentError, agentCodes } from './errors.js';
export { loadCredentials } from './credentials.js';
export * from './outbox/index.js';
export * from './platform/index.js';
export * from './replay/index.js';
export * from './commands/index.js';
export {
  openAgentState,
  createMemoryState,
  readAgentStatus,
  type AgentState,
  type AgentStatusReport,
  type RuntimeRecord,
} from './state/index.js';
export * from './update/index.js';
