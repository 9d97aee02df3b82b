// Crash at every state, before the switch: killed in Offered, mid-download, Verifying, Installing, and at a Failed
// outcome before its report; the restarted agent ends on the new image or, refused, on the old one
// (test/helpers/update-crash.ts holds the table and the runner; update-crash-switch.test.ts the states after it).
import { runCrashSuite } from '../helpers/update-crash.js';

runCrashSuite(['Offered', 'Downloading:100000', 'Verifying', 'Installing', 'Failed']);
