// Crash at every state, from the switch on: killed in Rebooting, HealthCheck (healthy, and with a failing health
// hook), at Committed before its report and at RolledBack before the switch back; the restarted agent ends on the
// new image or the old one, never between (test/helpers/update-crash.ts holds the table and the runner).
import { runCrashSuite } from '../helpers/update-crash.js';

runCrashSuite(['Rebooting', 'HealthCheck', 'Committed', 'RolledBack']);
