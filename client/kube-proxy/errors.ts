import type { ClientCode } from '../error-codes.ts';
import { CodedError } from '../../protocol/coded-error.ts';

/**
 * Errors of the Kubernetes API server proxy. A refusal of a caller carries the HTTP status it is
 * answered with (as a Kubernetes Status object, so that kubectl prints the message).
 */
export class KubeProxyError extends CodedError<ClientCode<'kube_proxy'>> {
  override readonly name = 'KubeProxyError';

  constructor(
    code: ClientCode<'kube_proxy'>,
    message: string,
    readonly status = 500,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }

  override get retryable(): boolean {
    return this.status === 503 || this.status === 502;
  }
}
