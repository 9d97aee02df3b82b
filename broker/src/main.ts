// `fleet`: the fleet server and its administration commands.
import { dispatch, runCli } from '../../shared/src/index.js';
import { dbFailure } from './db/failure.js';
import { auditCommand } from './cli/audit.js';
import { clusterCommand } from './cli/cluster.js';
import { cmdCommand } from './cli/cmd.js';
import { dbCommand } from './cli/db.js';
import { operatorKeyCommand } from './cli/operator-key.js';
import { operatorCommand } from './cli/operator.js';
import { tokenCommand } from './cli/token.js';
import { postureCommand, reportCommand } from './cli/report.js';
import { dashboardCommand } from './cli/dashboard.js';
import { deviceCommand } from './cli/device.js';
import { enrollTokenCommand } from './cli/enroll-token.js';
import { pkiCommand } from './cli/pki.js';
import { rolloutCommand } from './cli/rollout.js';
import { serveCommand } from './cli/serve.js';
import { storeCommand } from './cli/store.js';
import { telemetryCommand } from './cli/telemetry.js';
import { releaseCommand } from './cli/release.js';
import { trustCommand } from './cli/trust.js';

const HELP = `fleet — the edgeward fleet server

Usage: fleet <command> [options]   (every command has --help)

  pki init             create the fleet CA and server certificate
  device add           register a device and issue its certificate (--bulk N for many)
  device renew         re-issue a device certificate before it expires
  device revoke        revoke a device (a running server drops it within a second)
  device list          list devices, their status and data
  enroll-token create  one-time tokens for devices that make their own keys (iot-agent enroll)
  operator add|list|revoke  people who may use the operator API, and their roles
  token create         a short-lived, scoped API token (proof of possession of the operator credential)
  operator-key create  an Ed25519 key pair for signing commands
  cmd send | list      sign a command with an operator key and queue it; follow its acknowledgements
  rollout create|list|status|pause|resume|abort   staged firmware rollouts of a published release
  trust set | show     the firmware trust documents releases are verified against
  release publish | list | show   signed firmware bundles, verified and kept for rollouts
  telemetry DEVICE     a device's samples received in a time range
  report DEVICE        a device's latest exposure report and score history
  posture              the fleet's exposure grades, worst devices, widespread findings (--since 30d: the trend)
  dashboard link       a one-time URL that opens the web dashboard as an operator
  audit                fleet-wide security checks with severities and remediations
  serve                run the MQTT broker (mTLS) and the HTTPS endpoint (operator API, enrolment, /metrics)
  cluster up|status|down  a local cluster in one command: Redis, PostgreSQL, N nodes behind HAProxy
  db check | stats | vacuum   the fleet database: full integrity check, sizes per table, compaction
  store migrate        copy a single-node fleet (sqlite:DIR) into a PostgreSQL store, counts checked

Commands that read or change the fleet take --data DIR (on the server host) or --server URL --ca FILE
--credential FILE (through the operator API; or a token in EDGEWARD_TOKEN); pki init, serve and db work on the
server host's data folder only.

Exit codes: 0 success, 1 error, 2 usage error.`;

export async function main(argv: string[]): Promise<number> {
  try {
    return await dispatch(
      argv,
      {
        pki: pkiCommand,
        device: deviceCommand,
        serve: serveCommand,
        cluster: clusterCommand,
        'enroll-token': enrollTokenCommand,
        audit: auditCommand,
        dashboard: dashboardCommand,
        'operator-key': operatorKeyCommand,
        operator: operatorCommand,
        token: tokenCommand,
        cmd: cmdCommand,
        rollout: rolloutCommand,
        report: reportCommand,
        posture: postureCommand,
        telemetry: telemetryCommand,
        db: dbCommand,
        store: storeCommand,
        trust: trustCommand,
        release: releaseCommand,
      },
      HELP,
    );
  } catch (err) {
    // A damaged or full database met in the middle of a command gets the code it would get on opening.
    throw dbFailure(err) ?? err;
  }
}

runCli(() => main(process.argv.slice(2)));
