// Agent error codes (AGENT_*), listed in docs/errors.md.
import { defineCodes, EdgewardError } from '../../shared/src/index.js';

export const agentCodes = defineCodes({
  AGENT_CONFIG_INVALID: 'The agent configuration has problems; every problem is listed with its path.',
  AGENT_CONFIG_UNREADABLE: 'The agent configuration file cannot be read or is not valid JSON.',
  AGENT_CREDENTIALS: 'The device key, certificate or CA file cannot be read.',
  AGENT_STATE_DIR: 'The state folder cannot be created or opened (permissions, disk full, or a newer schema).',
});
export type AgentCode = keyof typeof agentCodes;

export class AgentError extends EdgewardError {
  declare readonly code: AgentCode;
  constructor(code: AgentCode, message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(code, message, options);
  }
}
