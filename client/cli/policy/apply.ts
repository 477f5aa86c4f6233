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
import { parseArgs } from './args.ts';
import { CliError, type CliIO } from './io.ts';
import { loadPolicy } from './load.ts';

const USAGE = 'usage: trellis policy apply FILE --server URL [--api-key KEY] [--base FILE | --if-version N]';

export async function apply(argv: string[], io: CliIO, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const args = parseArgs(argv, { values: ['server', 'api-key', 'base', 'if-version'], switches: [] });
  const [file] = args.positional;
  if (!file || args.positional.length > 1) throw new CliError(USAGE, 2);
  const server = flag(args.flags.get('server')) ?? env.TRELLIS_SERVER;
  const apiKey = flag(args.flags.get('api-key')) ?? env.TRELLIS_API_KEY;
  if (!server) throw new CliError(`missing --server (or TRELLIS_SERVER)\n${USAGE}`, 2);
  if (!apiKey) throw new CliError('missing --api-key (or TRELLIS_API_KEY): an API key with the "policy" scope', 2);
  const base = flag(args.flags.get('base'));
  const ifVersionText = flag(args.flags.get('if-version'));
  if (base && ifVersionText) throw new CliError('give --base or --if-version, not both', 2);
  if (ifVersionText !== undefined && !/^\d+$/.test(ifVersionText))
    throw new CliError(`--if-version takes a policy version number, not "${ifVersionText}"`, 2);

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
  const ifVersion = ifVersionText === undefined ? current.version : Number(ifVersionText);
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

const flag = (v: string | true | undefined) => (typeof v === 'string' ? v : undefined);
