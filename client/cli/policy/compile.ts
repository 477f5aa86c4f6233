/** `trellis policy compile --policy FILE --topology FILE --format tailscale`. */
import { compileTopology } from '../../../policy/index.ts';
import { parseArgs, required } from './args.ts';
import { CliError, type CliIO } from './io.ts';
import { loadPolicy, loadTopology } from './load.ts';

export async function compile(argv: string[], io: CliIO): Promise<number> {
  const args = parseArgs(argv, { values: ['policy', 'topology', 'format'], switches: [] });
  const format = args.flags.get('format') ?? 'tailscale';
  if (format !== 'tailscale')
    throw new CliError(`unknown --format "${String(format)}": only "tailscale" is supported`, 2);
  const policy = await loadPolicy(io, required(args, 'policy'));
  const nodes = await loadTopology(io, required(args, 'topology'));
  if (!policy) return 1;
  io.stdout(JSON.stringify(compileTopology(policy, nodes), null, 2));
  return 0;
}
