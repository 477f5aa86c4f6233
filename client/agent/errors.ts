import type { ClientCode } from '../error-codes.ts';
import { CodedError } from '../../protocol/coded-error.ts';

/**
 * Errors of the agent itself (state directory, local API, joining). `code` is stable; the message
 * says what is wrong and where. Errors of the layers below keep their own types and codes.
 */
export type AgentErrorCode = ClientCode<'agent'>;

export class AgentError extends CodedError<AgentErrorCode> {
  override readonly name = 'AgentError';
}
