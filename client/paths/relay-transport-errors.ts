import type { ClientCode } from '../error-codes.ts';
import { CodedError } from '../../protocol/coded-error.ts';

/** Errors of the relay transport (the WebSocket bridge); bad datagrams are dropped, never thrown. */
export type RelayTransportErrorCode = ClientCode<'relay_transport'>;

export class RelayTransportError extends CodedError<RelayTransportErrorCode> {
  override readonly name = 'RelayTransportError';
}
