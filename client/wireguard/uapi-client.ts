import { createConnection } from 'node:net';
import { UapiErrnoError, WireGuardError } from './errors.ts';
import { formatSetRequest, parseGetResponse, splitErrno, type DeviceState, type SetRequest } from './uapi-format.ts';

/**
 * Talks to one WireGuard device over its UAPI unix socket, one request per connection
 * (wireguard-go serialises requests itself; a fresh connection means a half-read answer can
 * never leak into the next request).
 */
export const UAPI_SOCKET_DIR = '/var/run/wireguard';

export const uapiSocketPath = (iface: string): string => `${UAPI_SOCKET_DIR}/${iface}.sock`;

const MAX_ANSWER_BYTES = 16 * 1024 * 1024;

export class UapiClient {
  constructor(
    readonly iface: string,
    readonly socketPath = uapiSocketPath(iface),
    private readonly timeoutMs = 5_000,
  ) {}

  async get(): Promise<DeviceState> {
    const { body, errno } = splitErrno(await this.exchange('get=1\n\n'));
    if (errno !== 0) throw new UapiErrnoError(errno, 'get', this.iface);
    return parseGetResponse(body);
  }

  async set(request: SetRequest): Promise<void> {
    const text = formatSetRequest(request); // validates before anything is sent
    const { errno } = splitErrno(await this.exchange(text));
    if (errno !== 0) throw new UapiErrnoError(errno, 'set', this.iface);
  }

  /** Resolves true once the socket accepts a `get` request. */
  async ping(): Promise<boolean> {
    try {
      await this.get();
      return true;
    } catch {
      return false;
    }
  }

  private exchange(request: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = createConnection(this.socketPath);
      let answer = '';
      let settled = false;
      const finish = (err: Error | undefined, value?: string) => {
        if (settled) return;
        settled = true;
        socket.destroy();
        if (err) reject(err);
        else resolve(value!);
      };
      socket.setTimeout(this.timeoutMs, () =>
        finish(
          new WireGuardError('wireguard.uapi_unavailable', `${this.iface}: no UAPI answer within ${this.timeoutMs} ms`),
        ),
      );
      socket.setEncoding('utf8');
      socket.on('connect', () => socket.write(request));
      socket.on('data', (chunk: string) => {
        answer += chunk;
        // The answer ends at the first empty line; no key=value line is ever empty.
        const end = answer.indexOf('\n\n');
        if (end >= 0) finish(undefined, answer.slice(0, end + 2));
        else if (answer.length > MAX_ANSWER_BYTES) {
          finish(
            new WireGuardError(
              'wireguard.uapi_protocol',
              `${this.iface}: UAPI answer larger than ${MAX_ANSWER_BYTES} bytes`,
            ),
          );
        }
      });
      socket.on('error', (err: NodeJS.ErrnoException) =>
        finish(
          new WireGuardError(
            'wireguard.uapi_unavailable',
            `${this.iface}: cannot reach UAPI socket ${this.socketPath}: ${err.code ?? err.message}`,
            {
              cause: err,
            },
          ),
        ),
      );
      socket.on('end', () =>
        finish(
          new WireGuardError('wireguard.uapi_protocol', `${this.iface}: UAPI socket closed before the answer ended`),
        ),
      );
    });
  }
}
