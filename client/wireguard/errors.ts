import { CodedError } from '../../protocol/coded-error.ts';

/**
 * Errors of the WireGuard driver. `code` is stable; `retryable` says whether the same call may
 * succeed later (the device is restarting, the socket is not there yet) or never will (a bad key,
 * a value the device refused).
 */
export type WireGuardErrorCode =
  | 'wireguard.invalid_key' // not a 32-byte key in base64 or hex
  | 'wireguard.invalid_config' // a peer or device setting we refuse to send
  | 'wireguard.uapi_unavailable' // cannot connect to the UAPI socket
  | 'wireguard.uapi_protocol' // the device answered something we cannot parse
  | 'wireguard.uapi_errno' // the device refused a request (nonzero errno)
  | 'wireguard.start_failed' // wireguard-go exited or never opened its socket
  | 'wireguard.interface_in_use' // the interface name's UAPI socket is served from another network namespace
  | 'wireguard.kernel_unavailable' // this kernel cannot create WireGuard interfaces
  | 'wireguard.not_running'; // the device was stopped or has crashed

const RETRYABLE: ReadonlySet<WireGuardErrorCode> = new Set(['wireguard.uapi_unavailable', 'wireguard.not_running']);

export class WireGuardError extends CodedError<WireGuardErrorCode> {
  override readonly name = 'WireGuardError';

  override get retryable(): boolean {
    return RETRYABLE.has(this.code);
  }
}

/** The device answered a request with a nonzero errno (wireguard-go writes it negated). */
export class UapiErrnoError extends WireGuardError {
  constructor(
    readonly errno: number,
    readonly operation: 'get' | 'set',
    iface: string,
  ) {
    super('wireguard.uapi_errno', `${iface}: UAPI ${operation} failed with errno ${errno}${describeErrno(errno)}`);
  }
}

// The errno values wireguard-go's ipc package uses (negated on the wire).
const ERRNO_NAMES: Record<number, string> = {
  1: 'EPERM',
  5: 'EIO',
  22: 'EINVAL (the device rejected a value)',
  71: 'EPROTO (the device did not understand a key)',
  95: 'ENOTSUP',
};

function describeErrno(errno: number): string {
  const name = ERRNO_NAMES[Math.abs(errno)];
  return name ? ` (${name})` : '';
}
