/**
 * The flag parser of every Trellis command line (`trellis`, `trellis-server`). It imports nothing
 * of the project's, so that both sides can use it. A command declares its flags once (spec.ts);
 * the parser, the value types and `--help` all follow from that declaration.
 */
export { CLI_CODES, HelpRequested, UsageError, usageError } from './errors.ts';
export { selectCommand } from './group.ts';
export { usageOutcome } from './outcome.ts';
export { parseCommand } from './parse.ts';
export { command, flags, group, type FlagSpecs } from './spec.ts';
export { commandUsage, groupUsage } from './usage.ts';
