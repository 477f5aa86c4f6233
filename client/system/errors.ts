/**
 * A system command that could not run or exited non-zero. The message names the command line
 * (and the network namespace) and carries the command's own stderr, which is what a person
 * needs to act on ("RTNETLINK answers: File exists").
 */
export type CommandErrorCode =
  | 'system.command_not_found' // the program is not installed
  | 'system.command_failed' // it ran and exited non-zero
  | 'system.command_timeout'; // it did not finish in time and was killed

export class CommandError extends Error {
  override readonly name = 'CommandError';
  constructor(
    readonly code: CommandErrorCode,
    message: string,
    readonly command: readonly string[],
    readonly exitCode: number | null,
    readonly stderr: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
