import type { ClientCode } from '../error-codes.ts';
import { CodedError } from '../../protocol/coded-error.ts';

/**
 * Errors of the agent's workload credential sources (token files, the SPIFFE Workload API).
 * `code` is stable; the message names the file or socket and what is wrong with it.
 */
export type CredentialSourceErrorCode = ClientCode<'token' | 'workload_api'>;

export class CredentialSourceError extends CodedError<CredentialSourceErrorCode> {
  override readonly name = 'CredentialSourceError';
}
