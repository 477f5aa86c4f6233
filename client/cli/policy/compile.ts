/** `trellis policy compile [--policy FILE] [--topology FILE] --format tailscale`. */
import { compileTopology } from '../../../policy/index.ts';
import { command, parseCommand } from '../../../cli-flags/index.ts';
import type { CliIO } from './io.ts';
import { PolicyInputs } from './inputs.ts';
import { NETWORK_FLAGS } from './policy-flags.ts';

export const COMPILE = command({
  name: 'trellis policy compile',
  summary: "Prints every node's peers and packet filter, as the server would send them.",
  flags: {
    format: { type: 'string', choices: ['tailscale'], default: 'tailscale', help: 'the output shape' },
    ...NETWORK_FLAGS,
  },
  notes: "Without --policy, the server's live policy; without --topology, its live network.",
});

export async function compile(argv: string[], io: CliIO, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const { flags } = parseCommand(argv, COMPILE);
  const inputs = new PolicyInputs(flags, io, env);
  const policy = await inputs.policy(flags.policy);
  if (!policy) return 1;
  const { nodes, options } = await inputs.network();
  io.stdout(JSON.stringify(compileTopology(policy, nodes, options), null, 2));
  return 0;
}
