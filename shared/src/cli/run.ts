// The one way every CLI ends: exit 0 on success, 2 on usage errors, 1 (or the command's own code) otherwise.
import { EdgewardError } from '../errors.js';
import { UsageError } from './args.js';

/** Runs `main` and exits with its code. Errors print one clear line (stack only with EDGEWARD_DEBUG=1). */
export function runCli(main: () => Promise<number | undefined>): void {
  // `fleet report … | head` closes the pipe early: that is the reader's choice, not an error.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw err;
    });
  }
  main().then(
    (code) => {
      process.exitCode = code ?? 0;
    },
    (err: unknown) => {
      if (err instanceof UsageError) {
        process.stderr.write(`usage error: ${err.message}\n`);
        process.exitCode = 2;
        return;
      }
      if (err instanceof EdgewardError) {
        process.stderr.write(`error ${err.code}: ${err.message}\n`);
      } else {
        process.stderr.write(`error: ${(err as Error)?.message ?? String(err)}\n`);
      }
      if (process.env.EDGEWARD_DEBUG === '1') process.stderr.write(`${(err as Error)?.stack}\n`);
      process.exitCode = 1;
    },
  );
}
