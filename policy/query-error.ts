import { CodedError } from '../protocol/coded-error.ts';
import type { PolicyCode } from './diagnostics.ts';

/**
 * A question asked of a loaded policy (evaluate, explain) that names something the network or
 * the policy language does not have. Bad input, so callers show it; a TypeError from the same
 * functions is a bug.
 */
export class PolicyQueryError extends CodedError<Extract<PolicyCode, 'policy.unknown_node' | 'policy.invalid_proto'>> {
  override readonly name = 'PolicyQueryError';
}
