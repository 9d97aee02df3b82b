// Entry point of the `fw` bin (dist/fw.cjs): exit 0 on success or a valid bundle, 1 invalid or an error, 2 usage
// error.
import { runCli } from '../../shared/src/cli/index.js';
import { isSignatureWorker } from './bundle/verify-file.js';
import { fw } from './cli/fw.js';

// dist/fw.cjs also starts as the signature worker of `fw verify` (bundle/verify-file.ts).
if (!isSignatureWorker) runCli(() => fw(process.argv.slice(2)));
