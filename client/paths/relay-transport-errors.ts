import { CodedError } from '../../protocol/coded-error.ts';

/** Errors of the relay transport (the WebSocket bridge); bad datagrams are dropped, never thrown. */
export type RelayTransportErrorCode =
  | 'relay_transport.bind_failed' // the bridge's local UDP socket could not be opened
  | 'relay_transport.bad_url'; // the server URL and the map's wsPath make no WebSocket URL

export class RelayTransportError extends CodedError<RelayTransportErrorCode> {
  override readonly name = 'RelayTransportError';
}
