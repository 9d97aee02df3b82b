// Worker threads, one convention for every part: a worker is defined once, by a tag and the module that runs it
// (defineWorker). That module runs as the worker when `input` is set; the part that needs the worker calls start().
// The module is a TypeScript source when run through tsx (the tests) and a bundle in dist/ otherwise. Node 20 does
// not pass `--import tsx` on to workers, so a source module is reached through a small bootstrap that registers tsx.
import { isMainThread, Worker, type WorkerOptions, workerData } from 'node:worker_threads';

/** What a worker started by start() gets as its workerData: the tag says which worker it is. */
interface Envelope<In> {
  readonly worker: string;
  readonly input: In;
}

export interface WorkerDefinition<In> {
  readonly tag: string;
  /** The input this thread was started with, when this thread is this worker; undefined anywhere else. */
  readonly input: In | undefined;
  /** Starts the worker on its module; `input` is copied to it (structured clone; SharedArrayBuffers are shared). */
  start(input: In, options?: Omit<WorkerOptions, 'workerData' | 'eval'>): Worker;
}

/**
 * Defines a worker. `module` is where it runs: a file of its own (siblingModule), or the caller's own module — then
 * a bundle starts itself as the worker, and its entry point must not run its command line when `input` is set.
 */
export function defineWorker<In>(tag: string, module: URL): WorkerDefinition<In> {
  const data = isMainThread ? undefined : (workerData as Partial<Envelope<In>> | null);
  return {
    tag,
    input: data?.worker === tag ? data.input : undefined,
    start(input, options = {}) {
      const envelope: Envelope<In> = { worker: tag, input };
      if (!module.pathname.endsWith('.ts')) return new Worker(module, { ...options, workerData: envelope });
      const entry = JSON.stringify(module.href);
      const bootstrap = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${entry}); })`;
      return new Worker(bootstrap, { ...options, workerData: envelope, eval: true });
    },
  };
}

/**
 * The module `name` in the folder of `from` (an import.meta.url), with from's extension: beside a source file
 * (x.ts) the source name.ts, beside a bundle in dist/ (fleet.js) the bundle name.js.
 */
export function siblingModule(from: string, name: string): URL {
  const ext = /\.[cm]?[jt]s$/.exec(new URL(from).pathname)?.[0] ?? '.js';
  return new URL(`./${name}${ext}`, from);
}
