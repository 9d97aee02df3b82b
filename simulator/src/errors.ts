// Simulator error codes (SIM_*), listed in docs/errors.md.
import { defineCodes, EdgewardError } from '../../shared/src/index.js';

export const simulatorCodes = defineCodes({
  SIM_DATA_DIR:
    'The --data folder is not an initialised fleet data folder (no pki/ca.crt or fleet.db); run `fleet pki ' +
    'init --data DIR` first.',
  SIM_IDENTITY:
    'A virtual device identity cannot be issued or read (revoked id, unreadable key or certificate); use another ' +
    '--prefix or remove DIR/sim/<id>.',
  SIM_WORKER_FAILED: 'A simulator worker process exited or reported an error before the run finished.',
  SIM_SERVER_UNREACHABLE:
    'No virtual device could connect to the fleet server within the connect timeout; check --server, the ' +
    'certificates and the server log.',
  SIM_SERVER_API:
    'The simulator cannot read what the server stored through its operator API (unreachable, a certificate that ' +
    'does not chain to the CA, a credential not registered, revoked or without the read scopes); check ' +
    '--server-api, --ca and --credential.',
  SIM_ROLLOUT:
    'The rollout scenario could not publish its release or start or follow its rollout (a bundle the fleet refuses, ' +
    'no trust document installed, devices already in a rollout); the message names the reason.',
  SIM_RESULT_INVALID:
    'The run result does not match the published result schema; this is a bug, please report it with the details.',
});
export type SimulatorCode = keyof typeof simulatorCodes;

export class SimulatorError extends EdgewardError {
  declare readonly code: SimulatorCode;
  constructor(
    code: SimulatorCode,
    message: string,
    options: { cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(code, message, options);
  }
}
