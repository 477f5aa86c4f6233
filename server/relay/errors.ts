/**
 * Errors of the UDP reflector and relay at start-up (a port that cannot be opened is a PortError);
 * packets that fail checks are dropped, never thrown.
 */
export type RelayErrorCode =
  | 'relay.key_malformed' // the key file holds something other than one base64 X25519 key
  | 'relay.key_exposed'; // the key file is readable by group or others

export class RelayError extends Error {
  override readonly name = 'RelayError';
  constructor(
    readonly code: RelayErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
