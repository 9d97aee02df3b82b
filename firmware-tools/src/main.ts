// Entry point of the `fw` bin (dist/fw.cjs): exit 0 on success or a valid bundle, 1 invalid or an error, 2 usage
// error.
import { runCli } from '../../shared/src/cli/index.js';
import { fw } from './cli/fw.js';
import { removePendingOutputs } from './output-file.js';

// Interrupted while writing a bundle or key: remove the temporary file, then die of the signal as usual.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    removePendingOutputs();
    process.kill(process.pid, signal);
  });
}
runCli(() => fw(process.argv.slice(2)));
