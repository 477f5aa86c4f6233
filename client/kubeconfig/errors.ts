import { CodedError } from '../../protocol/coded-error.ts';
import type { ClientCode } from '../error-codes.ts';

/** `trellis kubeconfig` could not write a context; the message says what to change. */
export class KubeconfigError extends CodedError<ClientCode<'kubeconfig'>> {
  override readonly name = 'KubeconfigError';
}
