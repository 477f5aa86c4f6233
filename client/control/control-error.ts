import { CodedError, type ErrorCode } from '../../protocol/coded-error.ts';
import type { ClientCode } from '../error-codes.ts';

/**
 * An answer from the control server that was not a success, or no answer at all. The code is
 * the server's own (`proof.stale`, `login.pending`: see docs/errors.md), as it answered, or one
 * of the client's server.* and login.* codes when there was no usable answer.
 */
export class ControlError extends CodedError<ClientCode<'server' | 'login'> | ErrorCode> {
  override readonly name = 'ControlError';
  constructor(
    code: ClientCode<'server' | 'login'> | ErrorCode,
    message: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }

  /** Whether trying again later may succeed (network trouble, overload, rate limits). */
  override get retryable(): boolean {
    return this.status === undefined || this.status === 429 || this.status >= 500;
  }
}
