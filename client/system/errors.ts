import { CodedError } from '../../protocol/coded-error.ts';
import type { ClientCode } from '../error-codes.ts';
/**
 * A system command that could not run or exited non-zero. The message names the command line
 * (and the network namespace) and carries the command's own stderr, which is what a person
 * needs to act on ("RTNETLINK answers: File exists").
 */
export type CommandErrorCode = ClientCode<'system'>;

export class CommandError extends CodedError<CommandErrorCode> {
  override readonly name = 'CommandError';
  constructor(
    code: CommandErrorCode,
    message: string,
    readonly command: readonly string[],
    readonly exitCode: number | null,
    readonly stderr: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}
