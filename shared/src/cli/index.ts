// Shared command-line kit: argument parsing, exit codes, progress bars and logging.
export * from './args.js';
export * from './run.js';
export * from './progress.js';
export * from './log.js';
