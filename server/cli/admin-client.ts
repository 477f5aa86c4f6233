import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError, flags } from '../../cli-flags/index.ts';

/** Talks to a running server's admin API; errors carry the server's code and message. */
export class AdminClient {
  constructor(
    private readonly baseUrl: string,
    private readonly apiKey: string,
  ) {}

  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(new URL(path, this.baseUrl), {
        method,
        headers: {
          authorization: `Bearer ${this.apiKey}`,
          ...(body !== undefined && { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      throw new AdminError(
        'server.unreachable',
        `cannot reach the server at ${this.baseUrl}: ${(err as Error).cause ?? (err as Error).message}`,
      );
    }
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    let json: Record<string, unknown>;
    try {
      json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      // A proxy's error page, or not a Trellis server at all.
      throw new AdminError(
        'server.bad_answer',
        `${this.baseUrl} answered ${res.status} ${res.statusText} with something other than JSON; is it a Trellis server?`,
      );
    }
    if (!res.ok) throw new AdminError(String(json.code ?? res.status), String(json.message ?? res.statusText));
    return json as T;
  }
}

export class AdminError extends Error {
  override readonly name = 'AdminError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface ConnectionFlags {
  server?: string;
  'api-key'?: string;
  'data-dir'?: string;
}

/** The flags every admin command takes: where the server is, and the key to it. */
export const CONNECTION_FLAGS = flags({
  server: { type: 'string', value: 'URL', help: 'the server (or TRELLIS_SERVER; default http://127.0.0.1:8080)' },
  'api-key': { type: 'string', value: 'KEY', help: 'an admin API key (or TRELLIS_API_KEY, or DIR/admin-api-key)' },
  'data-dir': { type: 'string', value: 'DIR', help: "the server's data directory, to read its admin-api-key" },
});

/** `--json` of the commands that print something. */
export const JSON_FLAG = flags({ json: { type: 'boolean', help: 'print JSON instead of text' } });

/** Server URL and API key from flags, then the environment, then the local data directory. */
export function adminClient(flags: ConnectionFlags, env: NodeJS.ProcessEnv): AdminClient {
  const server = flags.server ?? env.TRELLIS_SERVER ?? 'http://127.0.0.1:8080';
  let key = flags['api-key'] ?? env.TRELLIS_API_KEY;
  if (!key) {
    const file = join(flags['data-dir'] ?? env.TRELLIS_DATA_DIR ?? './data', 'admin-api-key');
    try {
      key = readFileSync(file, 'utf8').trim();
    } catch {
      throw new UsageError(
        'cli.missing_flag',
        `no API key: pass --api-key, set TRELLIS_API_KEY, or run where ${file} exists`,
      );
    }
  }
  return new AdminClient(server, key);
}
