/** `trellis policy diff OLD NEW --topology FILE [--json]`: access granted and revoked. */
import { type AccessChange, diffAccess } from '../../../policy/index.ts';
import { parseArgs, required } from './args.ts';
import { CliError, type CliIO } from './io.ts';
import { loadPolicy, loadTopology } from './load.ts';

function line(sign: string, c: AccessChange): string {
  return `  ${sign} ${c.src} -> ${c.dst} ${c.ports} (${c.protos})`;
}

export async function diff(argv: string[], io: CliIO): Promise<number> {
  const args = parseArgs(argv, { values: ['topology'], switches: ['json'] });
  const [oldFile, newFile] = args.positional;
  if (!oldFile || !newFile || args.positional.length > 2)
    throw new CliError('usage: trellis policy diff OLD NEW --topology FILE [--json]', 2);
  const oldPolicy = await loadPolicy(io, oldFile);
  const newPolicy = await loadPolicy(io, newFile);
  const nodes = await loadTopology(io, required(args, 'topology'));
  if (!oldPolicy || !newPolicy) return 1;
  const result = diffAccess(oldPolicy, newPolicy, nodes);
  if (args.flags.has('json')) {
    io.stdout(JSON.stringify(result, null, 2));
    return 0;
  }
  if (result.granted.length === 0 && result.revoked.length === 0) {
    io.stdout('no change in access');
    return 0;
  }
  const out: string[] = [];
  if (result.granted.length > 0)
    out.push(`granted (${result.granted.length}):`, ...result.granted.map((c) => line('+', c)));
  if (result.revoked.length > 0)
    out.push(`revoked (${result.revoked.length}):`, ...result.revoked.map((c) => line('-', c)));
  io.stdout(out.join('\n'));
  return 0;
}
