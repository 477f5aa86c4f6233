/** `trellis policy eval --policy F --topology F --src NODE --dst NODE:PORT [--proto P]`. */
import { explain, PolicyNetwork } from '../../../policy/index.ts';
import { command, parseCommand } from '../../../cli-flags/index.ts';
import { CliError, type CliIO } from './io.ts';
import { findNode, loadPolicy, loadTopology } from './load.ts';
import { POLICY_FLAGS } from './policy-flags.ts';

export const EVAL = command({
  name: 'trellis policy eval',
  summary: 'Says whether a connection is accepted or denied, and which rules decide it.',
  flags: {
    ...POLICY_FLAGS,
    src: { type: 'string', value: 'NODE', required: true, help: 'the connecting node (name or id)' },
    dst: { type: 'string', value: 'NODE:PORT', required: true, help: 'the node and port connected to' },
    proto: { type: 'string', value: 'P', help: 'the IP protocol (default tcp)' },
  },
});

/** Prints the verdict and the rules behind it; exits 0 for accept and deny alike. */
export async function evalCommand(argv: string[], io: CliIO): Promise<number> {
  const { flags } = parseCommand(argv, EVAL);
  const policy = await loadPolicy(io, flags.policy);
  const nodes = await loadTopology(io, flags.topology);
  if (!policy) return 1;
  const dstText = flags.dst;
  const colon = dstText.lastIndexOf(':');
  const port = Number(dstText.slice(colon + 1));
  if (colon < 0 || !/^[0-9]{1,5}$/.test(dstText.slice(colon + 1)) || port > 65535) {
    throw new CliError(`--dst "${dstText}": write NODE:PORT`, 2);
  }
  const src = findNode(nodes, flags.src);
  const dst = findNode(nodes, dstText.slice(0, colon));
  const net = new PolicyNetwork(policy);
  net.loadNodes(nodes);
  const proto = flags.proto;
  try {
    io.stdout(explain(net, { src: src.id, dst: dst.id, port, ...(typeof proto === 'string' ? { proto } : {}) }));
  } catch (e) {
    if (e instanceof TypeError) throw new CliError(e.message, 2);
    throw e;
  }
  return 0;
}
