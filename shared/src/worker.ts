// Starts a worker thread on a module: the bundled JavaScript in dist/, or a TypeScript source when run through
// tsx (the tests). Node 20 does not pass `--import tsx` on to workers, so a source module is reached through a
// small bootstrap that registers tsx first.
import { Worker, type WorkerOptions } from 'node:worker_threads';

export function startWorker(module: URL, options: WorkerOptions = {}): Worker {
  if (!module.pathname.endsWith('.ts')) return new Worker(module, options);
  const entry = JSON.stringify(module.href);
  const bootstrap = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${entry}); })`;
  return new Worker(bootstrap, { ...options, eval: true });
}
