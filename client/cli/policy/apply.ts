/**
 * `trellis policy apply FILE [--if-version N | --base FILE]`: upload a policy. It is checked here
 * first, then by the server, which keeps the old policy on any failure. The upload is always
 * conditional on a policy version: N, the version the change was reviewed against (what
 * `diff --record-version` wrote), or else the version seen just before the upload; the server
 * refuses with policy.version_conflict if its policy is another by then. `--base` names the
 * policy text the change was reviewed against instead: if the server runs another, nothing is
 * applied.
 */
import { command, parseCommand, usageError } from '../../../cli-flags/index.ts';
import { CliError, type CliIO } from './io.ts';
import { loadPolicy, readText } from './load.ts';
import { SERVER_FLAGS } from './policy-flags.ts';
import { PolicyServer } from './server-api.ts';

export const APPLY = command({
  name: 'trellis policy apply',
  summary: 'Uploads a checked policy to a running server, never over a change made since the review.',
  positionals: [{ name: 'FILE' }],
  flags: {
    'if-version': {
      type: 'number',
      integer: true,
      min: 0,
      value: 'N',
      help: "apply only if the server's policy is still version N (the server refuses otherwise)",
    },
    base: {
      type: 'string',
      value: 'FILE',
      help: 'the policy the change was reviewed against; refuse if the live one differs',
    },
    ...SERVER_FLAGS,
  },
  notes: `Needs an API key with the read and policy scopes. Exit status: 0 applied (or already
active), 1 the policy or the server refused (policy.version_conflict: the server's policy
changed since version N), 2 a usage mistake or no API key.`,
});

export async function apply(argv: string[], io: CliIO, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const { flags, positionals } = parseCommand(argv, APPLY);
  const file = positionals[0]!;
  const base = flags.base;
  if (base !== undefined && flags['if-version'] !== undefined)
    throw usageError('cli.conflicting_flags', 'give --base or --if-version, not both', APPLY.name);

  if (!(await loadPolicy(io, file))) return 1;
  const text = await readText(io, file);
  const server = await PolicyServer.connect(flags, io, env);
  const current = await server.policy();
  if (base !== undefined && (await readText(io, base)) !== current.text) {
    throw new CliError(
      `the server's policy (version ${current.version}, by ${current.author}) is not ${base}: it was changed outside this review; diff against the live policy and try again`,
    );
  }
  const ifVersion = flags['if-version'] ?? current.version;
  if (current.text === text && ifVersion === current.version) {
    io.stdout(`${file}: already active as version ${current.version}; nothing to do`);
    return 0;
  }
  const applied = await server.setPolicy(text, ifVersion, file);
  io.stdout(`${file}: applied as version ${applied.version} (was ${current.version})`);
  return 0;
}
