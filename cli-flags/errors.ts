import { CodedError, codeCatalog, type CodeOf } from '../protocol/coded-error.ts';

/**
 * A command line the command cannot run: the message is one line that names the mistake, the
 * command, and where its usage is (`see \`trellis ping --help\``). CLIs print it and exit 2.
 */
export const CLI_CODES = codeCatalog({
  cli: [
    'cli.unknown_flag', // a flag the command does not have
    'cli.unknown_command', // a subcommand the group does not have
    'cli.missing_command', // a group given no subcommand
    'cli.missing_value', // a flag that takes a value given none
    'cli.unexpected_value', // a boolean flag given a value (`--json=yes`)
    'cli.given_twice', // a flag that is not repeatable given more than once
    'cli.bad_value', // a value of the wrong kind or out of bounds
    'cli.missing_flag', // a required flag left out
    'cli.missing_argument', // fewer positional arguments than the command needs
    'cli.unexpected_argument', // more positional arguments than the command takes
    'cli.conflicting_flags', // flags that cannot go together
    'cli.unreadable_file', // a file named on the command line that cannot be read
  ],
});
type UsageErrorCode = CodeOf<typeof CLI_CODES>;

export class UsageError extends CodedError<UsageErrorCode> {
  override readonly name = 'UsageError';
  readonly exitCode = 2;
}

/**
 * Not a failure: `--help` (or `-h`) was given. Thrown so that the command stops before doing
 * anything; the CLI's entry prints `usage` on stdout and exits 0.
 */
export class HelpRequested extends Error {
  override readonly name = 'HelpRequested';
  readonly exitCode = 0;
  constructor(readonly usage: string) {
    super(usage);
  }
}

/** `PROBLEM for \`CMD\`; see \`CMD --help\``: the one line every usage error prints. */
export function usageError(code: UsageErrorCode, problem: string, commandName: string): UsageError {
  return new UsageError(code, `${problem} for \`${commandName}\`; see \`${commandName} --help\``);
}
