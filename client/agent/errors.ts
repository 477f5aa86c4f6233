import { CodedError } from '../../protocol/coded-error.ts';

/**
 * Errors of the agent itself (state directory, local API, joining). `code` is stable; the message
 * says what is wrong and where. Errors of the layers below keep their own types and codes.
 */
export type AgentErrorCode =
  | 'agent.state_unreadable' // a file in the state directory is missing fields or not JSON
  | 'agent.not_logged_in' // the node has no identity yet: `trellis up --auth-key ...` first
  | 'agent.bad_request' // a local API request failed validation
  | 'agent.not_found' // no node owns that address / no peer by that name
  | 'agent.join_failed' // the server refused the credential or could not be reached
  | 'agent.unavailable'; // the agent is not running or its socket refused us

export class AgentError extends CodedError<AgentErrorCode> {
  override readonly name = 'AgentError';
}
