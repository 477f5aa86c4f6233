import { describe, expect, it } from 'vitest';
import { command, parseCommand } from '../../../../cli-flags/index.ts';
import { WORKLOAD_FLAGS, workloadFrom } from '../../../../client/cli/local/workload-flags.ts';

const WORKLOAD = command({ name: 'trellis up', summary: 'a workload joins', flags: WORKLOAD_FLAGS });
const spec = (argv: string[], env: NodeJS.ProcessEnv = {}) => workloadFrom(parseCommand(argv, WORKLOAD).flags, env);

describe('workload flags of trellis up and trellis agent', () => {
  it('turn a token file into an absolute path with its credential type', () => {
    expect(
      spec(['--token-file', '/var/run/secrets/tokens/trellis', '--credential', 'kubernetes', '--cluster', 'prod']),
    ).toEqual({
      credential: 'kubernetes',
      cluster: 'prod',
      source: { type: 'file', path: '/var/run/secrets/tokens/trellis' },
    });
    expect(spec(['--token-file', 'svid.jwt', '--credential', 'spiffe-jwt'])?.source).toEqual({
      type: 'file',
      path: `${process.cwd()}/svid.jwt`,
    });
    expect(spec([])).toBeUndefined();
  });

  it('come from the environment in a container', () => {
    expect(spec([], { TRELLIS_TOKEN_FILE: '/t', TRELLIS_CREDENTIAL: 'spiffe-jwt' })).toEqual({
      credential: 'spiffe-jwt',
      source: { type: 'file', path: '/t' },
    });
    expect(spec(['--audience', 'trellis'], { SPIFFE_ENDPOINT_SOCKET: 'unix:///run/spire/agent.sock' })).toEqual({
      credential: 'spiffe-jwt',
      source: { type: 'workload-api', endpoint: 'unix:///run/spire/agent.sock', audience: 'trellis' },
    });
  });

  it('refuse incomplete or contradictory combinations, saying what to add', () => {
    const cases: Array<[string[], RegExp]> = [
      [['--token-file', '/t'], /needs --credential spiffe-jwt or --credential kubernetes/],
      [
        ['--token-file', '/t', '--credential', 'password'],
        /--credential: "password" must be one of spiffe-jwt, kubernetes/,
      ],
      [['--credential', 'kubernetes'], /--credential needs a token source: --token-file PATH/],
      [
        ['--token-file', '/t', '--credential', 'spiffe-jwt', '--cluster', 'prod'],
        /--cluster goes with --credential kubernetes only/,
      ],
      [['--token-file', '/t', '--credential', 'kubernetes', '--cluster', 'Prod!'], /short lowercase name/],
      [['--workload-api', 'unix:///s'], /needs --audience AUD/],
      [['--workload-api', 'tcp://127.0.0.1:1', '--audience', 'a'], /must be unix:\/\/\/absolute\/path/],
      [
        ['--workload-api', 'unix:///s', '--audience', 'a', '--credential', 'kubernetes'],
        /JWT-SVIDs: --credential spiffe-jwt/,
      ],
      [
        ['--workload-api', 'unix:///s', '--audience', 'a', '--token-file', '/t'],
        /--token-file or --workload-api, not both/,
      ],
      [['--audience', 'a'], /go with --workload-api/],
      [['--workload-api', 'unix:///s', '--audience', 'a', '--spiffe-id', 'payments'], /not a SPIFFE ID/],
    ];
    for (const [argv, message] of cases) expect(() => spec(argv), argv.join(' ')).toThrow(message);
  });
});
