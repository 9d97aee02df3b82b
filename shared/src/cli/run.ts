// The one way every CLI ends: exit 0 on success, 2 on usage errors, 1 (or the command's own code) otherwise.
import { EdgewardError } from '../errors.js';
import { describeIoError, isIoError } from '../files.js';
import { UsageError } from './args.js';

/**
 * The one line an error prints: `error CODE: message`. Every error has a code (docs/errors.md): a file system
 * error that a command did not wrap is FILE_IO, anything else unexpected is INTERNAL (a bug).
 */
export function errorLine(err: unknown): string {
  if (err instanceof EdgewardError) return `error ${err.code}: ${err.message}`;
  if (isIoError(err)) {
    const path = err.path ? ` ${err.path}` : '';
    return `error FILE_IO: ${err.syscall}${path}: ${describeIoError(err)}`;
  }
  const message = (err as Error)?.message ?? String(err);
  return `error INTERNAL: ${message} (a bug: run again with EDGEWARD_DEBUG=1 and report the stack trace)`;
}

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
      process.stderr.write(`${errorLine(err)}\n`);
      if (process.env.EDGEWARD_DEBUG === '1') process.stderr.write(`${(err as Error)?.stack}\n`);
      process.exitCode = 1;
    },
  );
}
