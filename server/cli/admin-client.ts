import { CodedError } from '../../protocol/coded-error.ts';
import type { AnswerCode } from '../error-codes.ts';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError, flags } from '../../cli-flags/index.ts';

/** Talks to a running server's admin API; errors carry the server's code and message. */
class AdminClient {
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
        { cause: err },
      );
    }
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    let json: Record<string, unknown>;
    try {
      json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch (err) {
      // A proxy's error page, or not a Trellis server at all.
      throw new AdminError(
        'server.bad_answer',
        `${this.baseUrl} answered ${res.status} ${res.statusText} with something other than JSON; is it a Trellis server?`,
        { cause: err },
      );
    }
    if (!res.ok) {
      // The code as the server sent it: a newer server may answer with one this CLI does not know.
      const code = typeof json.code === 'string' ? (json.code as AnswerCode) : 'server.bad_answer';
      throw new AdminError(code, typeof json.message === 'string' ? json.message : `${res.status} ${res.statusText}`);
    }
    return json as T;
  }
}

/** A failed admin call: the server's own answer (its code and message), or no usable answer at all. */
class AdminError extends CodedError<AnswerCode> {
  override readonly name = 'AdminError';
}

interface ConnectionFlags {
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
