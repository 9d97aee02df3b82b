// Crash at every state, before the switch: killed in Offered, mid-download (a good and a tampered bundle), Verifying,
// Installing, and at a Failed outcome before its report; the restarted agent ends on the new image or, refused, on
// the old one (test/helpers/update-crash.ts holds the table and the runner; update-crash-switch.test.ts the rest).
import { runCrashSuite } from '../helpers/update-crash.js';

runCrashSuite(['Offered', 'Downloading:100000', 'Verifying', 'Installing', 'Failed']);
