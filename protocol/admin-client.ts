/**
 * The one client of the admin API (/api/v1) outside the browser, for both CLIs (`trellis-server`'s
 * admin commands and `trellis policy`): where the server is and the key to it (flags, then the
 * environment, then the local server's `<data dir>/admin-api-key`), and a call that sends the key
 * as a bearer token, JSON both ways, and turns anything but a 2xx answer into the server's own
 * coded error. No I/O here but the request: each CLI reads the key file its own way.
 */
import { CodedError } from './coded-error.ts';
import { ErrorBody } from './errors.ts';

export const DEFAULT_SERVER = 'http://127.0.0.1:8080';

export interface AdminConnectionFlags {
  server?: string | undefined;
  'api-key'?: string | undefined;
  'data-dir'?: string | undefined;
}

/** Where the server is, and its key when the flags or environment give it; else the file to read it from. */
export function adminTarget(
  flags: AdminConnectionFlags,
  env: Readonly<Record<string, string | undefined>>,
): { url: string; key?: string; keyFile: string } {
  const dir = flags['data-dir'] ?? env.TRELLIS_DATA_DIR ?? './data';
  const key = flags['api-key'] ?? env.TRELLIS_API_KEY;
  return {
    url: flags.server ?? env.TRELLIS_SERVER ?? DEFAULT_SERVER,
    ...(key && { key }),
    keyFile: `${dir.replace(/\/+$/, '')}/admin-api-key`,
  };
}

export const noKeyMessage = (keyFile: string): string =>
  `no API key: pass --api-key, set TRELLIS_API_KEY, or run where ${keyFile} exists`;

/**
 * A failed call: `status` 0 when the server could not be reached, else the HTTP status, with the
 * server's code and message (`server.bad_answer` when the answer was not a Trellis error body).
 * The code is the server's as sent: a newer server may answer with one this client does not know.
 */
export class AdminCallError extends CodedError {
  override readonly name = 'AdminCallError';
  constructor(
    code: `${string}.${string}`,
    message: string,
    readonly status: number,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}

export class AdminClient {
  constructor(
    readonly url: string,
    private readonly apiKey: string,
  ) {}

  /** The answer's JSON (undefined for 204), or an AdminCallError. */
  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(new URL(path, this.url), {
        method,
        headers: {
          authorization: `Bearer ${this.apiKey}`,
          ...(body !== undefined && { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      const why = String((err as Error).cause ?? (err as Error).message);
      throw new AdminCallError('server.unreachable', `cannot reach ${this.url}: ${why}`, 0, { cause: err });
    }
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : {};
    } catch (err) {
      // A proxy's error page, or not a Trellis server at all.
      throw new AdminCallError(
        'server.bad_answer',
        `${this.url} answered ${res.status} ${res.statusText} with something other than JSON; is it a Trellis server?`,
        res.status,
        { cause: err },
      );
    }
    if (res.ok) return json as T;
    const error = ErrorBody.safeParse(json);
    if (!error.success)
      throw new AdminCallError(
        'server.bad_answer',
        `${this.url} answered ${res.status} ${res.statusText}; is it a Trellis server?`,
        res.status,
      );
    throw new AdminCallError(error.data.code as `${string}.${string}`, error.data.message, res.status);
  }
}
