/** `trellis policy compile --policy FILE --topology FILE --format tailscale`. */
import { compileTopology } from '../../../policy/index.ts';
import { command, parseCommand } from '../../../cli-flags/index.ts';
import type { CliIO } from './io.ts';
import { loadPolicy, loadTopology } from './load.ts';
import { POLICY_FLAGS } from './policy-flags.ts';

export const COMPILE = command({
  name: 'trellis policy compile',
  summary: "Prints every node's peers and packet filter, as the server would send them.",
  flags: {
    ...POLICY_FLAGS,
    format: { type: 'string', choices: ['tailscale'], default: 'tailscale', help: 'the output shape' },
  },
});

export async function compile(argv: string[], io: CliIO): Promise<number> {
  const { flags } = parseCommand(argv, COMPILE);
  const policy = await loadPolicy(io, flags.policy);
  const nodes = await loadTopology(io, flags.topology);
  if (!policy) return 1;
  io.stdout(JSON.stringify(compileTopology(policy, nodes), null, 2));
  return 0;
}
