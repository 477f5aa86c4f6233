import type { ClientCode } from '../error-codes.ts';
import { CodedError } from '../../protocol/coded-error.ts';

/**
 * Errors of the WireGuard driver. `code` is stable; `retryable` says whether the same call may
 * succeed later (the device is restarting, the socket is not there yet) or never will (a bad key,
 * a value the device refused).
 */
export type WireGuardErrorCode = ClientCode<'wireguard'>;

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
