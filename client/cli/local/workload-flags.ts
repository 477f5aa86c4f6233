import { resolve } from 'node:path';
import type { WorkloadSpec } from '../../identity/workload-spec.ts';
import { UsageError, flags } from '../../../cli-flags/index.ts';
import { oneOf } from './flags.ts';

/**
 * The workload flags of `trellis up` and `trellis agent`: where the token comes from and which
 * credential it is. Only their form is checked here; the agent reads the token (it runs as root
 * and keeps reading it as it rotates), and its complaints about the file come back as errors.
 */
export const WORKLOAD_FLAGS = flags({
  'token-file': {
    type: 'string',
    value: 'PATH',
    help: "a workload token the agent reads and re-reads as it rotates\n(a projected service-account token, or spiffe-helper's JWT-SVID)",
  },
  credential: { type: 'string', value: 'TYPE', help: 'what the token is: spiffe-jwt or kubernetes' },
  cluster: {
    type: 'string',
    value: 'NAME',
    help: "kubernetes: the server's name for the cluster (default: by the token's issuer)",
  },
  'workload-api': {
    type: 'string',
    value: 'URL',
    help: 'fetch JWT-SVIDs from the SPIFFE Workload API (unix:///path/agent.sock;\nor SPIFFE_ENDPOINT_SOCKET), with --audience',
  },
  audience: {
    type: 'string',
    value: 'AUD',
    help: 'with --workload-api: the audience the server expects (its spiffe.audience)',
  },
  'spiffe-id': {
    type: 'string',
    value: 'ID',
    help: "with --workload-api: which of the workload's identities (default: the first)",
  },
});

type WorkloadFlag = keyof typeof WORKLOAD_FLAGS;

/** The `TRELLIS_*` variables standing in for each flag (for containers). */
const ENV: Record<WorkloadFlag, string> = {
  'token-file': 'TRELLIS_TOKEN_FILE',
  credential: 'TRELLIS_CREDENTIAL',
  cluster: 'TRELLIS_CLUSTER',
  'workload-api': 'TRELLIS_WORKLOAD_API',
  audience: 'TRELLIS_AUDIENCE',
  'spiffe-id': 'TRELLIS_SPIFFE_ID',
};

export function workloadFrom(
  given: Partial<Record<WorkloadFlag, string | undefined>>,
  env: NodeJS.ProcessEnv = {},
): WorkloadSpec | undefined {
  const v = (name: WorkloadFlag) => given[name] ?? env[ENV[name]];
  const file = v('token-file');
  const credential = v('credential');
  const cluster = v('cluster');
  const audience = v('audience');
  // The socket the SPIFFE libraries use by default stands in for --workload-api once an audience says to use it.
  const api = v('workload-api') ?? (audience !== undefined ? env.SPIFFE_ENDPOINT_SOCKET : undefined);
  if (api !== undefined || audience !== undefined || v('spiffe-id') !== undefined) {
    if (file !== undefined)
      throw new UsageError('cli.conflicting_flags', 'give --token-file or --workload-api, not both');
    return workloadApi(api, audience, v('spiffe-id'), credential, cluster);
  }
  if (file === undefined) {
    if (credential !== undefined || cluster !== undefined)
      throw new UsageError(
        'cli.missing_flag',
        `--${credential !== undefined ? 'credential' : 'cluster'} needs a token source: --token-file PATH`,
      );
    return undefined;
  }
  if (file.trim() === '') throw new UsageError('cli.bad_value', '--token-file: the path is empty');
  if (credential === undefined)
    throw new UsageError(
      'cli.missing_flag',
      '--token-file needs --credential spiffe-jwt or --credential kubernetes (what the token is)',
    );
  const type = oneOf('credential', credential, ['spiffe-jwt', 'kubernetes'] as const);
  if (cluster !== undefined && type !== 'kubernetes')
    throw new UsageError('cli.conflicting_flags', '--cluster goes with --credential kubernetes only');
  if (cluster !== undefined && !/^[a-z0-9][a-z0-9-]{0,62}$/.test(cluster))
    throw new UsageError('cli.bad_value', `--cluster: "${cluster}" must be a short lowercase name (a-z, 0-9, -)`);
  return { credential: type, ...(cluster !== undefined && { cluster }), source: { type: 'file', path: resolve(file) } };
}

function workloadApi(
  api: string | undefined,
  audience: string | undefined,
  spiffeId: string | undefined,
  credential: string | undefined,
  cluster: string | undefined,
): WorkloadSpec {
  if (api === undefined)
    throw new UsageError(
      'cli.missing_flag',
      '--audience and --spiffe-id go with --workload-api unix:///path (or SPIFFE_ENDPOINT_SOCKET)',
    );
  if (!/^unix:\/\/\/./.test(api))
    throw new UsageError('cli.bad_value', `--workload-api: "${api}" must be unix:///absolute/path/to/agent.sock`);
  if (audience === undefined || audience.trim() === '')
    throw new UsageError(
      'cli.missing_flag',
      '--workload-api needs --audience AUD: the audience the server expects (its spiffe.audience)',
    );
  if (credential !== undefined && credential !== 'spiffe-jwt')
    throw new UsageError(
      'cli.conflicting_flags',
      '--workload-api gives JWT-SVIDs: --credential spiffe-jwt (or leave it out)',
    );
  if (cluster !== undefined)
    throw new UsageError('cli.conflicting_flags', '--cluster goes with --credential kubernetes only');
  if (spiffeId !== undefined && !/^spiffe:\/\/[^/]+/.test(spiffeId))
    throw new UsageError('cli.bad_value', `--spiffe-id: "${spiffeId}" is not a SPIFFE ID (spiffe://trust-domain/path)`);
  return {
    credential: 'spiffe-jwt',
    source: { type: 'workload-api', endpoint: api, audience, ...(spiffeId !== undefined && { spiffeId }) },
  };
}
