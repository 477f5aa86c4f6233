/** `trellis policy diff OLD NEW --topology FILE [--json]`: access granted and revoked. */
import { type AccessChange, diffAccess } from '../../../policy/index.ts';
import { command, parseCommand } from '../../../cli-flags/index.ts';
import type { CliIO } from './io.ts';
import { loadPolicy, loadTopology } from './load.ts';
import { POLICY_FLAGS } from './policy-flags.ts';

export const DIFF = command({
  name: 'trellis policy diff',
  summary: 'Lists the access a policy change grants and revokes, node by node.',
  positionals: [{ name: 'OLD' }, { name: 'NEW' }],
  flags: {
    topology: POLICY_FLAGS.topology,
    json: { type: 'boolean', help: 'print the changes as JSON' },
  },
});

function line(sign: string, c: AccessChange): string {
  return `  ${sign} ${c.src} -> ${c.dst} ${c.ports} (${c.protos})`;
}

export async function diff(argv: string[], io: CliIO): Promise<number> {
  const { flags, positionals } = parseCommand(argv, DIFF);
  const [oldFile, newFile] = positionals as [string, string];
  const oldPolicy = await loadPolicy(io, oldFile);
  const newPolicy = await loadPolicy(io, newFile);
  const nodes = await loadTopology(io, flags.topology);
  if (!oldPolicy || !newPolicy) return 1;
  const result = diffAccess(oldPolicy, newPolicy, nodes);
  if (flags.json) {
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
