// Agent error codes (AGENT_*), listed in docs/errors.md.
import { defineCodes, EdgewardError } from '../../shared/src/index.js';

export const agentCodes = defineCodes({
  AGENT_CONFIG_INVALID: 'The agent configuration has problems; every problem is listed with its path.',
  AGENT_CONFIG_UNREADABLE:
    'The agent configuration file cannot be read (missing, not a regular file, larger than 1 MB) or is not valid JSON.',
  AGENT_CREDENTIALS:
    'The device key, certificate or CA file cannot be read (missing, not a regular file, permissions, too large), ' +
    'or the CA file holds no certificate.',
  AGENT_IDENTITY:
    'The device identity does not check out at start: the key or certificate does not parse, the key is not the ' +
    "certificate's, the certificate's CN is not deviceId, or the certificate is expired or not yet valid.",
  AGENT_ENROLL_REFUSED:
    'The fleet server refused the enrolment (token invalid, used or expired, id taken, CSR rejected, or rate-limited).',
  AGENT_ENROLL_FAILED:
    'Enrolment could not complete: the server was unreachable or answered with something that does not check out.',
  AGENT_STATE_DIR:
    'The state folder cannot be created, opened or read (permissions, disk full, not a folder, a kernel file ' +
    'system such as /proc, or a newer schema).',
  AGENT_STATE_IN_USE: 'Another agent is running on this state folder; a state folder is used by one agent at a time.',
  AGENT_SAMPLE_DROPPED:
    'A telemetry sample could not be stored in the state folder (disk full or a write error); it is counted as ' +
    'dropped with its reason.',
  AGENT_HOOK_FAILED:
    'A command hook (relay, setpoint, reboot script) could not start, exited non-zero, was killed or timed out.',
  AGENT_INSTALL:
    'Installing or uninstalling the agent failed (not root, a file could not be written, or useradd/systemctl failed).',
  UPDATE_URL: 'A firmware offer names a download URL that is not https://, or no URL or token at all.',
  UPDATE_DOWNLOAD:
    'The firmware bundle could not be downloaded after every retry (connection cut, timeout, 5xx, 408 or 429).',
  UPDATE_DOWNLOAD_REFUSED:
    'The fleet server refused the firmware download (401 token bad or expired, 403 not offered or revoked, 404, ' +
    '416 or another 4xx); not retried.',
  UPDATE_DOWNLOAD_SIZE:
    'The firmware download is larger than the offered size, its Content-Range or Content-Length does not match, ' +
    'or the offered size does not fit in the free space of the state folder.',
  UPDATE_CANCELLED: 'The fleet cancelled the update before the install started; the old image kept running.',
  UPDATE_INSTALL: 'The installer failed to write, finish, switch or commit the new image (a hook failed, disk full).',
  UPDATE_HEALTH: 'The new image failed its health check (the health hook exited non-zero); it was rolled back.',
  UPDATE_HEALTH_TIMEOUT:
    'Nothing confirmed the new image healthy (connected, status acknowledged) before the deadline; rolled back.',
  UPDATE_LOOP: 'The agent restarted too often during one update (a crash loop); the update was abandoned.',
  UPDATE_TRUST: 'The configured firmware trust document cannot be read; every offer ends Failed with this code.',
});
export type AgentCode = keyof typeof agentCodes;

export class AgentError extends EdgewardError {
  declare readonly code: AgentCode;
  constructor(code: AgentCode, message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(code, message, options);
  }
}

// The scanner keeps its own codes (SCAN_*); re-exported here so every agent code is listed from one place.
export { scanCodes, ScanError, type ScanCode } from './scan/errors.js';
