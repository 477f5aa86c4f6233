import { CodedError } from '../../protocol/coded-error.ts';

/**
 * Errors of the agent's workload credential sources (token files, the SPIFFE Workload API).
 * `code` is stable; the message names the file or socket and what is wrong with it.
 */
export type CredentialSourceErrorCode =
  | 'token.missing' // the token file does not exist
  | 'token.unreadable' // it exists but cannot be read (permissions, a directory, ...)
  | 'token.empty' // the file holds nothing but whitespace
  | 'token.too_large' // over the size any server accepts
  | 'token.not_jwt' // not a compact JWS (header.payload.signature, base64url)
  | 'workload_api.unavailable' // nothing answers on the Workload API socket
  | 'workload_api.refused' // the Workload API answered with an error (no identity, bad audience, ...)
  | 'workload_api.bad_answer'; // an answer without a usable JWT-SVID

export class CredentialSourceError extends CodedError<CredentialSourceErrorCode> {
  override readonly name = 'CredentialSourceError';
}
