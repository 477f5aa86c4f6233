import { CodedError, type CodeOf } from '../../protocol/coded-error.ts';
import type { SERVER_CODES } from '../error-codes.ts';

/**
 * Errors of the UDP reflector and relay at start-up (a port that cannot be opened is a PortError);
 * packets that fail checks are dropped, never thrown.
 */
type RelayErrorCode = CodeOf<typeof SERVER_CODES, 'relay'>;

export class RelayError extends CodedError<RelayErrorCode> {
  override readonly name = 'RelayError';
}
