import { CodedError } from '../../protocol/coded-error.ts';
import type { ClientCode } from '../error-codes.ts';
/** Errors of interface, address and route configuration (command failures stay CommandError). */
export type NetconfErrorCode = ClientCode<'netconf'>;

export class NetconfError extends CodedError<NetconfErrorCode> {
  override readonly name = 'NetconfError';
  constructor(
    code: NetconfErrorCode,
    message: string,
    readonly where?: string,
  ) {
    super(code, message);
  }
}
