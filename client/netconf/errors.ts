/** Errors of interface, address and route configuration (command failures stay CommandError). */
export type NetconfErrorCode =
  | 'netconf.invalid_config' // an address, range or name we refuse to configure
  | 'netconf.route_conflict'; // another route already claims a mesh prefix

export class NetconfError extends Error {
  override readonly name = 'NetconfError';
  constructor(
    readonly code: NetconfErrorCode,
    message: string,
    readonly where?: string,
  ) {
    super(message);
  }
}
