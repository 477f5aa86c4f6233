import { HelpRequested, UsageError, usageError } from './errors.ts';
import type { GroupSpec } from './spec.ts';
import { groupUsage } from './usage.ts';

/**
 * Picks a group's subcommand from the first argument: `trellis-server users list ...` gives
 * `list` and the rest. `--help`, `-h` or `help` there asks for the group's usage; nothing there
 * is a usage error that shows it.
 */
export function selectCommand<G extends GroupSpec>(
  argv: readonly string[],
  spec: G,
): { name: keyof G['commands'] & string; rest: string[] } {
  const [first, ...rest] = argv;
  if (first === '--help' || first === '-h' || first === 'help') throw new HelpRequested(groupUsage(spec));
  // A bare group name is someone finding their way: show the choices (on stderr, exit 2).
  if (first === undefined) throw new UsageError('cli.missing_command', groupUsage(spec));
  if (first.startsWith('-')) throw usageError('cli.unknown_flag', `unknown flag ${first.split('=')[0]}`, spec.name);
  if (!Object.hasOwn(spec.commands, first))
    throw usageError('cli.unknown_command', `unknown command "${first}"`, spec.name);
  return { name: first, rest };
}
