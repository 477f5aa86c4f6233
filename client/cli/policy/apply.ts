/**
 * `trellis policy apply FILE --server URL [--base FILE | --if-version N]`: upload a policy.
 * It is checked here first, then by the server, which keeps the old policy on any failure.
 * `--base` names the policy the change was reviewed against (the one `diff` compared with):
 * if the server's policy is another one, someone changed it outside the repo, and nothing is
 * applied. The upload itself is conditional on the version seen, so a concurrent change is
 * refused rather than overwritten.
 */
import type { PolicyView } from '../../../protocol/admin.ts';
import type { ErrorBody } from '../../../protocol/errors.ts';
import { command, parseCommand, usageError } from '../../../cli-flags/index.ts';
import { CliError, type CliIO } from './io.ts';
import { loadPolicy } from './load.ts';

export const APPLY = command({
  name: 'trellis policy apply',
  summary: 'Uploads a checked policy to a running server, never over a change made since the review.',
  positionals: [{ name: 'FILE' }],
  flags: {
    server: { type: 'string', value: 'URL', help: 'the server (or TRELLIS_SERVER)' },
    'api-key': { type: 'string', value: 'KEY', help: 'an API key with the "policy" scope (or TRELLIS_API_KEY)' },
    base: {
      type: 'string',
      value: 'FILE',
      help: 'the policy the change was reviewed against; refuse if the live one differs',
    },
    'if-version': { type: 'number', integer: true, min: 0, value: 'N', help: 'apply only over policy version N' },
  },
});

export async function apply(argv: string[], io: CliIO, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const { flags, positionals } = parseCommand(argv, APPLY);
  const file = positionals[0]!;
  const server = flags.server ?? env.TRELLIS_SERVER;
  const apiKey = flags['api-key'] ?? env.TRELLIS_API_KEY;
  if (!server) throw usageError('cli.missing_flag', 'missing --server (or TRELLIS_SERVER)', APPLY.name);
  if (!apiKey)
    throw usageError(
      'cli.missing_flag',
      'missing --api-key (or TRELLIS_API_KEY): an API key with the "policy" scope',
      APPLY.name,
    );
  const base = flags.base;
  const ifVersionGiven = flags['if-version'];
  if (base !== undefined && ifVersionGiven !== undefined)
    throw usageError('cli.conflicting_flags', 'give --base or --if-version, not both', APPLY.name);

  if (!(await loadPolicy(io, file))) return 1;
  const text = await io.readFile(file);
  const call = api(server, apiKey);

  const current = await call<PolicyView>('GET', '/api/v1/policy');
  if (base !== undefined) {
    const baseText = await readOrFail(io, base);
    if (baseText !== current.text) {
      throw new CliError(
        `the server's policy (version ${current.version}, by ${current.author}) is not ${base}: it was changed outside this review; diff against the live policy and try again`,
      );
    }
  }
  const ifVersion = ifVersionGiven ?? current.version;
  if (current.text === text && ifVersion === current.version) {
    io.stdout(`${file}: already active as version ${current.version}; nothing to do`);
    return 0;
  }
  const applied = await call<PolicyView>('PUT', '/api/v1/policy', { policy: text, ifVersion, fileName: file });
  io.stdout(`${file}: applied as version ${applied.version} (was ${current.version})`);
  return 0;
}

function api(server: string, apiKey: string) {
  return async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    let res: Response;
    try {
      res = await fetch(new URL(path, server), {
        method,
        headers: {
          authorization: `Bearer ${apiKey}`,
          ...(body !== undefined && { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      throw new CliError(`cannot reach ${server}: ${String((err as Error).cause ?? (err as Error).message)}`);
    }
    const json = (await res.json().catch(() => ({}))) as T & Partial<ErrorBody>;
    if (res.ok) return json;
    if (json.details?.length) {
      throw new CliError(json.details.map((d) => `${d.where ?? ''}: ${d.message}`).join('\n'));
    }
    throw new CliError(`server refused (${res.status} ${json.code ?? ''}): ${json.message ?? res.statusText}`);
  };
}

async function readOrFail(io: CliIO, file: string): Promise<string> {
  try {
    return await io.readFile(file);
  } catch (err) {
    throw new CliError(`cannot read ${file}: ${(err as Error).message}`);
  }
}
