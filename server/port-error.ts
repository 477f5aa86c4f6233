import { CodedError, type CodeOf } from '../protocol/coded-error.ts';
import type { SERVER_CODES } from './error-codes.ts';

/**
 * A port the server must open could not be opened. The message names the port, the setting
 * that chose it and what to do, since the usual cause is a second server started beside the
 * first (`trellis-server serve` prints it as one line and exits 1).
 */
type PortErrorCode = CodeOf<typeof SERVER_CODES, 'port'>;

class PortError extends CodedError<PortErrorCode> {
  override readonly name = 'PortError';
}

/** Which port, for the message: the setting that chose it and how to turn it off, if it can be. */
interface PortSetting {
  protocol: 'TCP' | 'UDP';
  host: string;
  port: number;
  /** The config key, also a flag of `trellis-server serve`: `listen.port`, `relay.udpPort`. */
  setting: string;
  /** What the setting does with -1, when it has that choice. */
  off?: string;
}

/** Translates the system's refusal to open a port (from node:net or node:dgram). */
export function portError(err: unknown, p: PortSetting): PortError {
  const what = `${p.protocol} port ${p.port} on ${p.host} (${p.setting})`;
  const another = `choose another with --${p.setting} PORT${p.off ? ` (-1 ${p.off})` : ''}`;
  const errno = (err as NodeJS.ErrnoException | undefined)?.code;
  if (errno === 'EADDRINUSE') {
    return new PortError(
      'port.in_use',
      `${what} is already in use, perhaps by another trellis-server: stop that one, or ${another}`,
      { cause: err },
    );
  }
  if (errno === 'EACCES') {
    return new PortError(
      'port.needs_privilege',
      `${what} needs privileges: run as root or with CAP_NET_BIND_SERVICE, or ${another}`,
      { cause: err },
    );
  }
  if (errno === 'EADDRNOTAVAIL') {
    return new PortError(
      'port.address_unavailable',
      `cannot open ${what}: ${p.host} is not an address of this machine; set --listen.host to one of its addresses (0.0.0.0 for all)`,
      { cause: err },
    );
  }
  return new PortError('port.open_failed', `cannot open ${what}: ${(err as Error).message}`, { cause: err });
}
