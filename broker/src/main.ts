// `fleet`: the fleet server and its administration commands.
import { dispatch, runCli } from '../../shared/src/index.js';
import { dbFailure } from './db/failure.js';
import { auditCommand } from './cli/audit.js';
import { cmdCommand } from './cli/cmd.js';
import { dbCommand } from './cli/db.js';
import { operatorKeyCommand } from './cli/operator-key.js';
import { postureCommand, reportCommand } from './cli/report.js';
import { deviceCommand } from './cli/device.js';
import { enrollTokenCommand } from './cli/enroll-token.js';
import { pkiCommand } from './cli/pki.js';
import { serveCommand } from './cli/serve.js';

const HELP = `fleet — the edgeward fleet server

Usage: fleet <command> [options]   (every command has --help)

  pki init             create the fleet CA and server certificate
  device add           register a device and issue its certificate (--bulk N for many)
  device renew         re-issue a device certificate before it expires
  device revoke        revoke a device (a running server drops it within a second)
  device list          list devices, their status and data
  enroll-token create  one-time tokens for devices that make their own keys (iot-agent enroll)
  operator-key create  an Ed25519 key pair for signing commands
  cmd send | list      sign a command with an operator key and queue it; follow its acknowledgements
  report DEVICE        a device's latest exposure report and score history
  posture              the fleet's exposure grades, worst devices, widespread findings
  audit                fleet-wide security checks with severities and remediations
  serve                run the MQTT broker (mTLS) and the HTTPS endpoint (enrolment, /metrics)
  db check             SQLite's full integrity check of the fleet database

Exit codes: 0 success, 1 error, 2 usage error.`;

export async function main(argv: string[]): Promise<number> {
  try {
    return await dispatch(
      argv,
      {
        pki: pkiCommand,
        device: deviceCommand,
        serve: serveCommand,
        'enroll-token': enrollTokenCommand,
        audit: auditCommand,
        'operator-key': operatorKeyCommand,
        cmd: cmdCommand,
        report: reportCommand,
        posture: postureCommand,
        db: dbCommand,
      },
      HELP,
    );
  } catch (err) {
    // A damaged or full database met in the middle of a command gets the code it would get on opening.
    throw dbFailure(err) ?? err;
  }
}

runCli(() => main(process.argv.slice(2)));
