/**
 * The flag parser of every Trellis command line (`trellis`, `trellis-server`). It imports nothing
 * of the project's, so that both sides can use it. A command declares its flags once (spec.ts);
 * the parser, the value types and `--help` all follow from that declaration.
 */
export { CLI_CODES, HelpRequested, UsageError, usageError, type UsageErrorCode } from './errors.ts';
export { selectCommand } from './group.ts';
export { usageOutcome } from './outcome.ts';
export { parseCommand, type ParsedCommand } from './parse.ts';
export {
  command,
  flags,
  group,
  type CommandEntry,
  type CommandSpec,
  type FlagSpec,
  type FlagSpecs,
  type FlagValues,
  type GroupSpec,
} from './spec.ts';
export { commandUsage, groupUsage } from './usage.ts';
