/**
 * `trellis policy diff [OLD] NEW [--topology FILE] [--format text|json|markdown]`: the access a
 * change grants and revokes. Without OLD the change is against the server's live policy, and
 * `--record-version FILE` keeps that policy's version for `apply --if-version`, so what is
 * applied after review is refused if the server's policy moved in between.
 */
import {
  type AccessChange,
  type AccessDiff,
  diffAccess,
  formatDiffMarkdown,
  type Policy,
} from '../../../policy/index.ts';
import { command, parseCommand, usageError } from '../../../cli-flags/index.ts';
import { CliError, type CliIO } from './io.ts';
import { PolicyInputs } from './inputs.ts';
import { loadPolicy } from './load.ts';
import { SERVER_FLAGS, TOPOLOGY_FLAG } from './policy-flags.ts';

export const DIFF = command({
  name: 'trellis policy diff',
  summary: 'Lists the access a policy change grants and revokes, node by node.',
  positionals: [{ name: 'OLD', optional: true }, { name: 'NEW' }],
  flags: {
    format: {
      type: 'string',
      choices: ['text', 'json', 'markdown'],
      default: 'text',
      help: 'text, json, or markdown (tables of gains and losses, for a pull request comment)',
    },
    json: { type: 'boolean', help: 'the same as --format json' },
    'record-version': {
      type: 'string',
      value: 'FILE',
      help: "write the live policy's version to FILE, for `trellis policy apply --if-version` (needs no OLD)",
    },
    ...TOPOLOGY_FLAG,
    ...SERVER_FLAGS,
  },
  notes: `Without OLD, NEW is compared with the server's live policy; without --topology, on its live
network (an API key with the read scope). Exit status: 0 whether or not access changes, 1 when a
policy does not load or the server refuses, 2 for a usage mistake.`,
});

function line(sign: string, c: AccessChange): string {
  return `  ${sign} ${c.src} -> ${c.dst} ${c.ports} (${c.protos})`;
}

export async function diff(argv: string[], io: CliIO, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const { flags, positionals } = parseCommand(argv, DIFF);
  if (flags.json && flags.format !== 'text' && flags.format !== 'json')
    throw usageError('cli.conflicting_flags', `give --json or --format ${flags.format}, not both`, DIFF.name);
  const format = flags.json ? 'json' : flags.format;
  const [oldFile, newFile] = positionals.length === 2 ? positionals : [undefined, positionals[0]!];
  if (oldFile !== undefined && flags['record-version'] !== undefined)
    throw usageError('cli.conflicting_flags', '--record-version records the live policy: give no OLD', DIFF.name);

  const inputs = new PolicyInputs(flags, io, env);
  let oldPolicy: Policy | undefined;
  let baseline: string | undefined;
  let baseVersion: number | undefined;
  if (oldFile === undefined) {
    const live = await inputs.livePolicy();
    oldPolicy = live?.policy;
    baseVersion = live?.view.version;
    baseline = `the live policy (version ${baseVersion})`;
  } else {
    oldPolicy = await loadPolicy(io, oldFile);
    baseline = oldFile;
  }
  const newPolicy = await loadPolicy(io, newFile!);
  if (!oldPolicy || !newPolicy) return 1;
  const { nodes, options } = await inputs.network();
  const result = diffAccess(oldPolicy, newPolicy, nodes, options);

  if (flags['record-version'] !== undefined) await record(io, flags['record-version'], baseVersion!);
  if (format === 'json')
    io.stdout(JSON.stringify({ ...result, ...(baseVersion !== undefined && { baseVersion }) }, null, 2));
  else if (format === 'markdown') io.stdout(formatDiffMarkdown(result, { baseline, nodes }));
  else io.stdout(text(result));
  return 0;
}

function text(result: AccessDiff): string {
  if (result.granted.length === 0 && result.revoked.length === 0) return 'no change in access';
  const out: string[] = [];
  if (result.granted.length > 0)
    out.push(`granted (${result.granted.length}):`, ...result.granted.map((c) => line('+', c)));
  if (result.revoked.length > 0)
    out.push(`revoked (${result.revoked.length}):`, ...result.revoked.map((c) => line('-', c)));
  return out.join('\n');
}

async function record(io: CliIO, file: string, version: number): Promise<void> {
  try {
    await io.writeFile(file, `${version}\n`);
  } catch (e) {
    throw new CliError(`${file}: cannot write: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}
