// fw trust …: dispatch to the trust document subcommands.
import { UsageError } from '../../../shared/src/cli/index.js';
import type { Command } from './io.js';
import { trustInit } from './trust-init.js';
import { trustShow } from './trust-show.js';
import { trustAddReleaseKey, trustRemoveReleaseKey, trustRotateRoot } from './trust-update.js';

const SUBCOMMANDS: Record<string, Command> = {
  init: trustInit,
  'add-release-key': trustAddReleaseKey,
  'remove-release-key': trustRemoveReleaseKey,
  'rotate-root': trustRotateRoot,
  show: trustShow,
};

export const TRUST_HELP = `Usage: fw trust <subcommand> [options]

Trust documents name the release keys (and how many must sign a bundle), signed by root keys. Each new
version must be signed by a threshold of the current root keys; devices accept versions one at a time.

Subcommands:
  init                 create version 1
  add-release-key      next version with more release keys
  remove-release-key   next version without some release keys
  rotate-root          next version with new root keys (signed by old and new roots)
  show                 print a trust document

Run fw trust <subcommand> --help for its options.`;

export const trust: Command = async (argv, io) => {
  const [sub, ...rest] = argv;
  if (sub === '--help' || sub === '-h') {
    io.out(`${TRUST_HELP}\n`);
    return 0;
  }
  if (sub === undefined) throw new UsageError(`a subcommand is required\n\n${TRUST_HELP}`);
  const run = SUBCOMMANDS[sub];
  if (!run) throw new UsageError(`unknown subcommand "trust ${sub}"\n\n${TRUST_HELP}`);
  return run(rest, io);
};
